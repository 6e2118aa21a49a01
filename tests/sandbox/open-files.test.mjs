// --max-open-files: RLIMIT_NOFILE of the action. No demo action opens many
// files, but a worker already holds fds 0..5 (stdio, IPC, cancel pipe), so
// under a limit of 4 even /flow/writeFile's single open() sees EMFILE. The
// limit is per run: the pooled worker itself keeps working.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import {
  startSupervisor,
  closeSupervisors,
  settledWorkers,
  startRun,
  traceIdOf,
  concurrentSleep,
  assertStatus,
  assertResult,
  assertServing,
  descendants,
  isAlive,
} from './sandbox.mjs';

const file = `/tmp/genkit-test-nofile-${process.pid}`;

describe('limits: --max-open-files', () => {
  after(async () => {
    rmSync(file, { force: true });
    await closeSupervisors();
  });

  test('writeFile under --max-open-files 4: status 7 Too many open files, no file', async () => {
    rmSync(file, { force: true });
    const m = await startSupervisor(['--max-open-files', '4']);
    const [w] = await settledWorkers(m, 1);
    const r = startRun(m, '/flow/writeFile', { path: file }, {}, 10000);
    await traceIdOf(m, r);
    const other = concurrentSleep(m);
    assertStatus(await r.done, r, 7, `cannot write ${file}: Too many open files`);
    await other;
    assert.equal(existsSync(file), false, `${file} exists`);
    // Not a limit the supervisor enforces from outside: the action only saw
    // EMFILE, and the pooled worker stays, with nothing left behind.
    assert.ok(isAlive(w), 'the pooled worker is kept');
    assert.deepEqual(descendants(w.pid), []);
    const e = await m.runAction('/flow/echo', 'still here', {}, { timeoutMs: 5000 });
    assertResult(e.reply, 'still here');
    await assertServing(m);
  });

  test('control: the same write under --max-open-files 64 succeeds', async () => {
    rmSync(file, { force: true });
    const m = await startSupervisor(['--max-open-files', '64']);
    const r = await m.runAction('/flow/writeFile', { path: file }, {}, { timeoutMs: 5000 });
    assertResult(r.reply, file);
    assert.equal(existsSync(file), true);
    rmSync(file, { force: true });
  });
});
