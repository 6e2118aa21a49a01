// Pool sizing: workers held by slow runs get company; a queue of short
// runs does not fork more processes (they would only add context switches).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startManager, closeAll, waitFor, descendants } from './manager.mjs';
import { assertRunOk } from './expect.mjs';

// genkit-worker processes under the supervisor: the zygote and the workers.
function workerCount(m) {
  return descendants(m.pid).filter((p) => p.comm === 'genkit-worker' && p.state !== 'Z').length;
}

describe('pool', () => {
  const closers = [];
  after(() => closeAll(closers));

  test('6 slow runs on --workers 2 grow the pool to run them all at once', async () => {
    const m = await startManager({ args: ['--workers', '2', '--max-workers', '8'] }, closers);
    const idle = workerCount(m); // zygote + 2 workers
    assert.equal(idle, 3);
    const runs = Array.from({ length: 6 }, () => m.runAction('/flow/sleep', { ms: 3000 }, {}, { timeoutMs: 30000 }));
    // Six workers busy at the same time, plus the zygote.
    await waitFor(() => workerCount(m) >= 7, 10000, 'six workers for six sleeping runs');
    for (const { reply, id } of await Promise.all(runs)) assertRunOk(reply, id, 3000);
  });

  test('a deep queue of short runs does not grow the pool', async () => {
    const m = await startManager({ args: ['--workers', '2', '--max-workers', '16'] }, closers);
    let most = workerCount(m);
    const sampler = setInterval(() => { most = Math.max(most, workerCount(m)); }, 5);
    try {
      // 256 in flight: runs wait far longer than the 5 ms growth threshold.
      const total = 4000;
      let next = 0;
      const lane = async () => {
        while (next < total) {
          const i = next++;
          const { reply, id } = await m.runAction('/flow/echo', { i }, {}, { timeoutMs: 60000 });
          assertRunOk(reply, id, { i });
        }
      };
      await Promise.all(Array.from({ length: 256 }, lane));
    } finally {
      clearInterval(sampler);
    }
    assert.equal(most, 3, 'zygote + the 2 --workers, never more');
  });
});
