// End to end with the real client: genkit-cli@1.43.0 (tests/package.json)
// starts its own V2 manager (URL says localhost), runs genkit-supervisor
// --demo as the runtime, runs a flow, prints it, and stops the runtime with
// SIGTERM. HOME and the working directory are temporary: the CLI writes
// .genkit/ into its project root and config into $HOME.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SOURCE_DIR, SUPERVISOR_BIN, descendants, alive, waitFor } from './manager.mjs';

const GENKIT = path.join(SOURCE_DIR, 'tests', 'node_modules', '.bin', 'genkit');
const dirs = [];
const procs = [];
after(() => {
  for (const p of procs) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    for (const k of p.seen || []) {
      try {
        process.kill(k.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Runs `genkit --non-interactive <args> -- genkit-supervisor --demo` in a
 * fresh temp dir; resolves to {code, signal, stdout, stderr, seen} where
 * seen = every process the CLI started that we caught alive.
 */
function runCli(args, timeoutMs = 60000) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-e2e-'));
  dirs.push(dir);
  const env = { ...process.env, HOME: dir, NO_COLOR: '1', CI: '1' };
  delete env.GENKIT_REFLECTION_V2_SERVER;
  delete env.GENKIT_RUNTIME_ID;
  delete env.GENKIT_ENV;
  const p = spawn(GENKIT, ['--non-interactive', ...args, '--', SUPERVISOR_BIN, '--demo', '--workers', '1'], {
    cwd: dir,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(p);
  p.seen = [];
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  // Record the CLI's process tree while it runs (the supervisor and workers).
  const sampler = setInterval(() => {
    for (const k of descendants(p.pid)) {
      const old = p.seen.find((s) => s.pid === k.pid && s.starttime === k.starttime);
      if (old) old.comm = k.comm; // a spawned child execs after fork
      else p.seen.push(k);
    }
  }, 10);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      clearInterval(sampler);
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      reject(new Error(`genkit ${args.join(' ')}: no exit in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    p.on('exit', (code, signal) => {
      clearTimeout(t);
      clearInterval(sampler);
      // stdio may still be draining: wait for close
      p.on('close', () => resolve({ code, signal, stdout, stderr, seen: p.seen, dir }));
      if (p.stdout.readableEnded && p.stderr.readableEnded) resolve({ code, signal, stdout, stderr, seen: p.seen, dir });
    });
  });
}

/** The supervisor is among the CLI's children, and all of its tree is gone at the end. */
async function assertCleanExit(r) {
  assert.ok(
    r.seen.some((k) => k.comm.startsWith('genkit-supervi')),
    `the CLI ran genkit-supervisor (seen: ${r.seen.map((k) => k.comm)})`
  );
  await waitFor(() => alive(r.seen).length === 0, 5000, 'the supervisor and its workers to exit with the CLI').catch((e) => {
    e.message += `: alive ${JSON.stringify(alive(r.seen))}`;
    throw e;
  });
}

describe('genkit CLI (genkit-cli 1.43.0) with genkit-supervisor --demo', () => {
  test('the CLI is installed', () => {
    assert.ok(existsSync(GENKIT), `${GENKIT}: run npm ci in tests/`);
  });

  test("flow:run echo '{\"a\":1}': prints Result {\"a\": 1} and a 32-hex Trace ID", async () => {
    const r = await runCli(['flow:run', 'echo', '{"a":1}']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /(^|\n)Result:\n\{\n {2}"a": 1\n\}\nTrace ID: [0-9a-f]{32}\n/, r.stdout);
    assert.doesNotMatch(r.stdout + r.stderr, /Error:/);
    await assertCleanExit(r);
  });

  test("flow:run count '{\"n\":3}' --stream: prints chunks {i:0..2}, Result 3, Trace ID", async () => {
    const r = await runCli(['flow:run', 'count', '{"n":3}', '--stream']);
    assert.equal(r.code, 0, r.stderr);
    const chunks = '{\n  "i": 0\n}\n{\n  "i": 1\n}\n{\n  "i": 2\n}\n';
    assert.match(r.stdout, /Result:\n3\nTrace ID: [0-9a-f]{32}\n/, r.stdout);
    assert.ok(r.stdout.includes(chunks + 'Result:\n3\n'), `chunks in order before the result:\n${r.stdout}`);
    await assertCleanExit(r);
  });

  test('flow:run fail NOT_FOUND: the CLI prints Code 5, the message and the Trace ID from error.data', async () => {
    const r = await runCli(['flow:run', 'fail', '{"status":"NOT_FOUND","message":"no such thing"}']);
    const out = r.stdout + r.stderr;
    assert.match(out, /Code: 5\n/, out);
    assert.match(out, /Message: no such thing\n/);
    assert.match(out, /Trace ID: [0-9a-f]{32}\n/);
    await assertCleanExit(r);
  });

  test('flow:run sleep {ms:200}: Result 200', async () => {
    const r = await runCli(['flow:run', 'sleep', '{"ms":200}']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Result:\n200\nTrace ID: [0-9a-f]{32}\n/, r.stdout);
    await assertCleanExit(r);
  });
});
