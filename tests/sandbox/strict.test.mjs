// --sandbox strict: no network (even loopback), a read-only file system
// except the per-worker scratch directory. --sandbox none is the control
// that proves the connect check would catch a regression.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync, rmSync } from 'node:fs';
import {
  startSupervisor,
  closeSupervisors,
  startRun,
  traceIdOf,
  concurrentSleep,
  assertStatus,
  assertResult,
  assertServing,
  withTimeout,
} from './sandbox.mjs';

describe('--sandbox strict', () => {
  let server;
  let port;
  let accepted = 0;
  before(async () => {
    server = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    await withTimeout(new Promise((r) => server.listen(0, '127.0.0.1', r)), 5000, 'listen');
    port = server.address().port;
  });
  after(async () => {
    await closeSupervisors();
    await withTimeout(new Promise((r) => server.close(() => r())), 5000, 'close the TCP server');
  });

  test('connect to a loopback port: status 14 Network is unreachable', async () => {
    const m = await startSupervisor(['--sandbox', 'strict']);
    const before = accepted;
    const r = startRun(m, '/flow/connect', { host: '127.0.0.1', port }, {}, 10000);
    await traceIdOf(m, r);
    const other = concurrentSleep(m);
    assertStatus(await r.done, r, 14, /Network is unreachable/);
    await other;
    assert.equal(accepted, before, 'the listener saw no connection');
    await assertServing(m);
  });

  for (const file of ['/etc/genkit-test-x', '/tmp/genkit-test-x']) {
    test(`writeFile ${file}: status 7 Read-only file system, no file`, async () => {
      rmSync(file, { force: true });
      const m = await startSupervisor(['--sandbox', 'strict']);
      const r = startRun(m, '/flow/writeFile', { path: file }, {}, 10000);
      await traceIdOf(m, r);
      const other = concurrentSleep(m);
      assertStatus(await r.done, r, 7, /Read-only file system/);
      await other;
      assert.equal(existsSync(file), false, `${file} was created`);
      await assertServing(m);
    });
  }

  test('writeFile without a path writes into the scratch directory', async () => {
    const m = await startSupervisor(['--sandbox', 'strict']);
    const r = await m.runAction('/flow/writeFile', {}, {}, { timeoutMs: 10000 });
    assert.equal(r.reply.error, undefined, JSON.stringify(r.reply.error));
    assert.match(r.reply.result.result, /^\/tmp\/genkit-scratch\/worker-\d+\/file\.txt$/);
    await assertServing(m);
  });

  test('control: under --sandbox none the same connect succeeds', async () => {
    const m = await startSupervisor(['--sandbox', 'none']);
    const before = accepted;
    const r = await m.runAction('/flow/connect', { host: '127.0.0.1', port }, {}, { timeoutMs: 10000 });
    assertResult(r.reply, 'connected');
    await m.waitFor(() => accepted > before, 5000, 'the listener to accept');
    await assertServing(m);
  });
});
