// --max-output-bytes: result + stream chunk bytes past the limit end the run
// RESOURCE_EXHAUSTED; small outputs are unaffected.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSupervisor, closeSupervisors, limitScenario, assertResult } from './sandbox.mjs';

const MESSAGE = 'Action output exceeded its limit of 1000 bytes (max-output-bytes)';

describe('limits: --max-output-bytes', () => {
  after(closeSupervisors);

  test('count 1000 with stream under --max-output-bytes 1000: status 8', async () => {
    const m = await startSupervisor(['--max-output-bytes', '1000']);
    const { run } = await limitScenario(m, {
      key: '/flow/count',
      input: { n: 1000 },
      extra: { stream: true },
      code: 8,
      message: MESSAGE,
    });
    const bytes = run.run.chunks.reduce((n, c) => n + JSON.stringify(c).length, 0);
    assert.ok(bytes <= 1000, `${bytes} chunk bytes delivered past a 1000-byte limit`);
    run.run.chunks.forEach((c, i) => assert.deepEqual(c, { i }));
  });

  test('echo of a 2000-byte string: status 8', async () => {
    const m = await startSupervisor(['--max-output-bytes', '1000']);
    await limitScenario(m, { key: '/flow/echo', input: 'x'.repeat(2000), code: 8, message: MESSAGE });
  });

  test('a small echo is unaffected', async () => {
    const m = await startSupervisor(['--max-output-bytes', '1000']);
    const v = { s: 'y'.repeat(900) };
    const r = await m.runAction('/flow/echo', v, {}, { timeoutMs: 5000 });
    assertResult(r.reply, v);
  });
});
