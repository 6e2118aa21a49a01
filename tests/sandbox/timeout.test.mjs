// --timeout-ms: a run past its wall-clock limit is killed and answered
// DEADLINE_EXCEEDED promptly, while other runs carry on.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSupervisor, closeSupervisors, limitScenario } from './sandbox.mjs';

describe('limits: --timeout-ms', () => {
  after(closeSupervisors);

  test('sleep 5000 under --timeout-ms 300: status 4 within 1 s, worker gone', async () => {
    const m = await startSupervisor(['--timeout-ms', '300']);
    const { ms } = await limitScenario(m, {
      key: '/flow/sleep',
      input: { ms: 5000 },
      code: 4,
      message: 'Action exceeded its time limit of 300 ms (timeout-ms)',
    });
    // Not early either; the supervisor's timer runs on libevent's coarse
    // monotonic clock, which may fire up to a jiffy (<= 10 ms) early.
    assert.ok(ms >= 290, `answered after ${ms.toFixed(0)} ms, before the 300 ms limit`);
    assert.ok(ms < 1000, `answered after ${ms.toFixed(0)} ms, want < 1000`);
  });

  test('a run within --timeout-ms is not affected', async () => {
    const m = await startSupervisor(['--timeout-ms', '300']);
    const r = await m.runAction('/flow/sleep', { ms: 50 }, {}, { timeoutMs: 5000 });
    assert.deepEqual(r.reply.result.result, 50);
  });
});
