// /flow/forkBomb under --sandbox standard: RLIMIT_NPROC (256 by default
// for sandboxed actions) bounds it, the supervisor keeps answering, and a
// cancel ends every process of the bomb.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSupervisor,
  closeSupervisors,
  settledWorkers,
  startRun,
  traceIdOf,
  timedEcho,
  assertStatus,
  assertAllGone,
  assertServing,
  descendants,
  descendantsOfUid,
  workers,
  NOBODY_UID,
} from './sandbox.mjs';

const MAX_PROCS = 256;
const SLACK = 4;

describe('forkBomb under --sandbox standard', () => {
  after(closeSupervisors);

  test('bounded by max-procs 256, echo answers meanwhile, cancel ends it', async () => {
    const m = await startSupervisor(['--sandbox', 'standard', '--workers', '2']);
    const idle = await settledWorkers(m, 2);
    const r = startRun(m, '/flow/forkBomb', {}, {}, 30000);
    const traceId = await traceIdOf(m, r);

    // The worker running it is the one that gets children.
    let bomber;
    await m.waitFor(() => (bomber = idle.find((w) => descendants(w.pid).length > 0)), 5000, 'the bomb to fork');
    let most = 0;
    const sample = () => {
      most = Math.max(most, descendantsOfUid(m, NOBODY_UID).length);
      return most;
    };
    await m.waitFor(() => sample() >= MAX_PROCS / 2, 10000, `≥ ${MAX_PROCS / 2} processes of uid nobody`);

    // While it runs at full size: echoes answer in < 2 s, and the count of
    // nobody's processes stays bounded.
    const sampler = setInterval(sample, 20);
    try {
      for (let i = 0; i < 3; i++) await timedEcho(m, { during: 'forkBomb', i }, 2000);
    } finally {
      clearInterval(sampler);
    }
    sample();
    assert.ok(most <= MAX_PROCS + SLACK, `${most} processes of uid nobody, bound ${MAX_PROCS}+${SLACK}`);

    const tree = [bomber, ...descendants(bomber.pid)];
    const c = await m.request('cancelAction', { traceId }, { timeoutMs: 5000 });
    assert.deepEqual(c.result, { message: 'Action cancelled' });
    assertStatus(await r.done, r, 1, 'Action was cancelled');
    await assertAllGone(m, tree, `the bomb (${tree.length} processes)`, 10000);

    // What is left of uid nobody is the pooled workers, and nothing below them.
    await m.waitFor(
      () => descendantsOfUid(m, NOBODY_UID).every((p) => p.ppid === m.pid),
      5000,
      'only pooled workers left as nobody'
    );
    for (const w of workers(m)) assert.deepEqual(descendants(w.pid), [], `worker ${w.pid} has no children`);
    await assertServing(m);
  });
});
