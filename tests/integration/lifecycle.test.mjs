// Register variants, reconnect with backoff, and process lifetime:
// SIGKILL leaves no worker behind, SIGTERM exits 0 after in-flight runs.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { startManager, closeAll, TestManager, alive, waitFor, withTimeout, SUPERVISOR_BIN, allProcs } from './manager.mjs';
import { assertRunOk } from './expect.mjs';

const closers = [];
after(() => closeAll(closers));

describe('register', () => {
  test('GENKIT_RUNTIME_ID and --name are used; pid, version, spec, envs', async () => {
    const m = await startManager({ args: ['--workers', '1', '--name', 'my runtime'], env: { GENKIT_RUNTIME_ID: 'rt-42' } }, closers);
    const p = m.registrations[0].params;
    assert.equal(p.id, 'rt-42');
    assert.equal(p.pid, m.pid);
    assert.equal(p.name, 'my runtime');
    assert.match(p.genkitVersion, /^c\//);
    assert.equal(p.reflectionApiSpecVersion, 1);
    assert.deepEqual(p.envs, ['dev']);
    await m.close();
  });

  test('without GENKIT_RUNTIME_ID the id is the pid as a string', async () => {
    const m = await startManager({ args: ['--workers', '1'], env: { GENKIT_RUNTIME_ID: '' } }, closers);
    assert.equal(m.registrations[0].params.id, String(m.pid));
    await m.close();
  });

  test('a manager that never answers register is still served', async () => {
    const m = await startManager({ args: ['--workers', '1'], registerReply: false }, closers);
    assert.deepEqual(await m.echo([1, 'unanswered register']), [1, 'unanswered register']);
    await m.close();
  });

  test('register answered with a telemetryServerUrl: runs still work', async () => {
    const m = await startManager({ args: ['--workers', '1'], registerReply: { telemetryServerUrl: 'http://127.0.0.1:9' } }, closers);
    assert.deepEqual(await m.echo({ t: 1 }), { t: 1 });
    await m.close();
  });
});

describe('reconnect', () => {
  test('manager restarts on the same port: register again, then echo works', async () => {
    const m = await startManager({ args: ['--workers', '1'] }, closers);
    const port = m.port;
    assert.equal(await m.echo('before'), 'before');
    const first = m.conn;
    await m.stopServer();
    await m.waitFor(() => first.closedAt, 5000, 'the old link to close');
    await m.listen();
    assert.equal(m.port, port);
    await m.waitFor(() => m.registrations.length === 2, 10000, 'a second register');
    const p1 = m.registrations[0].params;
    const p2 = m.registrations[1].params;
    assert.deepEqual(p2, p1, 'same register params after reconnect');
    assert.ok(m.registrations[1].at - first.closedAt < 3000, 'reconnected within the first backoff steps');
    assert.equal(await m.echo('after'), 'after');
    assert.equal(m.exited, null);
    await m.close();
  });

  test('a run in flight when the link drops is cancelled: its worker process does not keep spinning', async () => {
    const m = await startManager({ args: ['--workers', '1', '--cancel-grace-ms', '100'] }, closers);
    const id = m.newId();
    m.request('runAction', { key: '/flow/spin', input: null }, { id, timeoutMs: 20000 }).catch(() => {});
    await m.waitFor(() => m.run(id).states.length, 5000, 'runActionState of spin');
    const { findBurner, isAlive } = await import('./manager.mjs');
    const burner = await findBurner(m.pid);
    m.snapshotChildren();
    await m.restartServer();
    await m.waitFor(() => !isAlive(burner), 5000, 'the spinning worker to be killed after the link dropped');
    await m.waitFor(() => m.registrations.length === 2, 10000, 'a second register');
    assert.equal(await m.echo('again'), 'again');
    await m.close();
  });

  test('backoff: 500 ms doubling to a 5 s cap between failed attempts', async () => {
    // A TCP server that accepts and drops every connection: each attempt fails.
    const attempts = [];
    const srv = net.createServer((s) => {
      attempts.push(Date.now());
      s.destroy();
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const m = new TestManager({ args: ['--workers', '1'] });
      closers.push(m);
      m.port = srv.address().port;
      m.spawnRuntime();
      await waitFor(() => attempts.length >= 7 || m.exited, 25000, '7 connection attempts');
      assert.equal(m.exited, null, 'the supervisor keeps trying');
      const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
      const want = [500, 1000, 2000, 4000, 5000, 5000];
      gaps.forEach((g, i) => {
        assert.ok(g >= want[i] * 0.8 && g <= want[i] * 1.3 + 300, `gap ${i + 1}: ${g} ms, want ~${want[i]} (all: ${gaps})`);
      });
      await m.close();
    } finally {
      await withTimeout(new Promise((r) => srv.close(r)), 5000, 'close tcp server');
    }
  });
});

describe('process lifetime', () => {
  test('SIGKILL of the supervisor: no worker survives it', async () => {
    const m = await startManager({ args: ['--workers', '3'] }, closers);
    // a busy worker and idle ones
    const id = m.newId();
    m.request('runAction', { key: '/flow/sleep', input: { ms: 60000 } }, { id, timeoutMs: 60000 }).catch(() => {});
    await m.waitFor(() => m.run(id).states.length, 5000, 'runActionState');
    const kids = await m.waitFor(() => {
      const k = m.children();
      return k.length >= 3 && k;
    }, 5000, '3 workers');
    m.snapshotChildren();
    process.kill(m.pid, 'SIGKILL');
    const ex = await m.waitExit(5000);
    assert.equal(ex.signal, 'SIGKILL');
    await m.waitFor(() => alive(kids).length === 0, 5000, `workers ${kids.map((k) => k.pid)} to die with the supervisor`);
    await m.close();
  });

  test('SIGTERM when idle: exit code 0, no worker left', async () => {
    const m = await startManager({ args: ['--workers', '2'] }, closers);
    assert.equal(await m.echo(1), 1);
    const kids = m.snapshotChildren();
    assert.ok(kids.length >= 2, `workers running: ${kids.length}`);
    process.kill(m.pid, 'SIGTERM');
    const ex = await m.waitExit(10000);
    assert.deepEqual(ex, { code: 0, signal: null });
    await m.waitFor(() => alive(kids).length === 0, 5000, 'no worker left');
    await m.close();
  });

  test('SIGTERM with a run in flight: the run finishes, then exit code 0', async () => {
    const m = await startManager({ args: ['--workers', '2'] }, closers);
    const id = m.newId();
    const p = m.request('runAction', { key: '/flow/sleep', input: { ms: 300 } }, { id, timeoutMs: 10000 });
    await m.waitFor(() => m.run(id).states.length, 5000, 'runActionState');
    const kids = m.snapshotChildren();
    process.kill(m.pid, 'SIGTERM');
    assertRunOk(await p, id, 300);
    const ex = await m.waitExit(10000);
    assert.deepEqual(ex, { code: 0, signal: null });
    await m.waitFor(() => alive(kids).length === 0, 5000, 'no worker left');
    await m.close();
  });

  // A worker that was still starting when the supervisor stopped sends its
  // (first) Hello into a socket that the shutdown then drains: that is not
  // "second hello", a protocol violation worth a warning. Fresh mode keeps 16
  // workers warm, and SIGTERM lands as soon as two of them exist, while the
  // rest are starting; about one try in three hit the window before the fix.
  test('SIGTERM while workers start: no protocol warning, exit code 0', async () => {
    for (let i = 0; i < 20; i++) {
      const proc = spawn(SUPERVISOR_BIN, ['--demo', '--mode', 'fresh', '--workers', '16', '--url', 'ws://127.0.0.1:9'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
      // the zygote and at least two workers: children of the supervisor
      await waitFor(() => allProcs().filter((p) => p.ppid === proc.pid).length >= 3, 10000, 'workers starting', 1);
      const kids = allProcs().filter((p) => p.ppid === proc.pid);
      proc.kill('SIGTERM');
      assert.deepEqual(await withTimeout(exited, 10000, 'supervisor exit'), { code: 0, signal: null });
      assert.doesNotMatch(stderr, /second hello|killing it/, `try ${i}: ${stderr}`);
      await waitFor(() => alive(kids).length === 0, 5000, 'no worker left');
    }
  });

  test('SIGINT: exit code 0 too', async () => {
    const m = await startManager({ args: ['--workers', '1'] }, closers);
    const kids = m.snapshotChildren();
    process.kill(m.pid, 'SIGINT');
    assert.deepEqual(await m.waitExit(10000), { code: 0, signal: null });
    await m.waitFor(() => alive(kids).length === 0, 5000, 'no worker left');
    await m.close();
  });
});
