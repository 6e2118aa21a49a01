// --memory-mb: an allocation past the limit fails RESOURCE_EXHAUSTED, the
// worker is replaced, and the next (small) allocation works.
import { describe, test, after } from 'node:test';
import { startSupervisor, closeSupervisors, limitScenario, assertResult, UNDER_ASAN } from './sandbox.mjs';

describe('limits: --memory-mb', () => {
  after(closeSupervisors);

  const skip = UNDER_ASAN && 'RLIMIT_AS cannot coexist with ASan shadow memory';
  test('allocate 4096 MB under --memory-mb 256: status 8, then allocate 10 works', { skip }, async () => {
    const m = await startSupervisor(['--memory-mb', '256']);
    await limitScenario(m, {
      key: '/flow/allocate',
      input: { mb: 4096 },
      code: 8,
      message: /memory limit of 256 MB/,
    });
    const r = await m.runAction('/flow/allocate', { mb: 10 }, {}, { timeoutMs: 10000 });
    assertResult(r.reply, 10);
  });
});
