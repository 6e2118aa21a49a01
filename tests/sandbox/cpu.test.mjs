// --cpu-seconds: a spinning action is stopped after 1 s of CPU and
// answered RESOURCE_EXHAUSTED, while other runs carry on.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSupervisor, closeSupervisors, limitScenario } from './sandbox.mjs';

describe('limits: --cpu-seconds', () => {
  after(closeSupervisors);

  test('spin under --cpu-seconds 1: status 8, worker gone', async () => {
    const m = await startSupervisor(['--cpu-seconds', '1']);
    const { ms } = await limitScenario(m, {
      key: '/flow/spin',
      code: 8,
      message: 'Action exceeded its CPU time limit of 1 s (cpu-seconds)',
    });
    assert.ok(ms >= 900, `stopped after ${ms.toFixed(0)} ms wall, before 1 s of CPU could be used`);
  });
});
