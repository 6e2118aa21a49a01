// Pool sizing: workers held by slow runs get company; a queue of short
// runs does not fork more processes (they would only add context switches).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { startManager, closeAll, waitFor, descendants } from './manager.mjs';
import { assertRunOk, assertActionError } from './expect.mjs';

/** Sends a runAction now; returns {id, run, done} without waiting. */
function send(m, key, input) {
  const id = m.newId();
  const done = m.request('runAction', { key, input }, { id, timeoutMs: 30000 });
  return { id, run: m.run(id), done };
}

/** One worker, and a prefetch window wide enough that the second of two
 * back-to-back runs is always handed to it in advance. /flow/sleep {ms:0}
 * a few times first, so the supervisor knows sleep as a short action. */
async function onePrefetchingWorker(closers) {
  const m = await startManager({ args: ['--workers', '1', '--max-workers', '1', '--prefetch-us', '10000000'] }, closers);
  for (let i = 0; i < 5; i++) {
    const { reply, id } = await m.runAction('/flow/sleep', { ms: 0 });
    assertRunOk(reply, id, 0);
  }
  return m;
}

// genkit-worker processes under the supervisor: the zygote and the workers.
function workerCount(m) {
  return descendants(m.pid).filter((p) => p.comm === 'genkit-worker' && p.state !== 'Z').length;
}

/**
 * Runs `total` echoes, 256 in flight, each checked, and returns the most
 * genkit-worker processes seen (sampled every sampleMs). before(i), if
 * given, is awaited before echo i is sent.
 */
async function mostWorkersDuringEchoes(m, total, sampleMs, before) {
  let most = workerCount(m);
  const sampler = setInterval(() => { most = Math.max(most, workerCount(m)); }, sampleMs);
  try {
    let next = 0;
    const lane = async () => {
      while (next < total) {
        const i = next++;
        if (before)
          await before(i);
        const { reply, id } = await m.runAction('/flow/echo', { i }, {}, { timeoutMs: 60000 });
        assertRunOk(reply, id, { i });
      }
    };
    await Promise.all(Array.from({ length: 256 }, lane));
  } finally {
    clearInterval(sampler);
  }
  return most;
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
    // 256 in flight: runs wait far longer than the 5 ms growth threshold.
    const most = await mostWorkersDuringEchoes(m, 4000, 5);
    assert.equal(most, 3, 'zygote + the 2 --workers, never more');
  });

  test('prefetch: the worker dies under the run ahead; the run sent behind it runs elsewhere, once', async () => {
    const m = await onePrefetchingWorker(closers);
    const first = send(m, '/flow/sleep', { ms: 20000 });
    const second = send(m, '/flow/echo', { behind: 'sleep' });
    await m.waitFor(() => first.run.states.length > 0, 10000, 'runActionState of the sleep');
    const c = await m.request('cancelAction', { traceId: first.run.states[0].traceId });
    assert.deepEqual(c.result, { message: 'Action cancelled' });
    assertActionError(await first.done, first.id, 1, 'Action was cancelled');
    assertRunOk(await second.done, second.id, { behind: 'sleep' });
  });

  test('prefetch: cancelling the run sent ahead drops it unstarted; the current run is left alone', async () => {
    const m = await onePrefetchingWorker(closers);
    const order = [];
    const first = send(m, '/flow/sleep', { ms: 1500 });
    const second = send(m, '/flow/sleep', { ms: 20000 });
    first.done.then(() => order.push('first'));
    second.done.then(() => order.push('second'));
    await m.waitFor(() => second.run.states.length > 0, 10000, 'runActionState of the second sleep');
    const c = await m.request('cancelAction', { traceId: second.run.states[0].traceId });
    assert.deepEqual(c.result, { message: 'Action cancelled' });
    assertActionError(await second.done, second.id, 1, 'Action was cancelled');
    assertRunOk(await first.done, first.id, 1500);
    // Answered while the first still slept: dropped, not killed after it.
    assert.deepEqual(order, ['second', 'first']);
  });

  test('prefetch: a run sent ahead that crashes is answered as the crash it is', async () => {
    const m = await onePrefetchingWorker(closers);
    const first = send(m, '/flow/sleep', { ms: 200 });
    const second = send(m, '/flow/crash', {});
    assertRunOk(await first.done, first.id, 200);
    assertActionError(await second.done, second.id, 13, 'worker crashed: SIGSEGV (Segmentation fault)');
    assert.deepEqual(await m.echo({ after: 'crash' }), { after: 'crash' });
  });

  test('an action that answers CANCELLED by itself: its worker exits, the runs behind it are served', async () => {
    const m = await startManager({ args: ['--workers', '1', '--max-workers', '1'] }, closers);
    for (let round = 0; round < 3; round++) {
      const fail = send(m, '/flow/fail', { status: 'CANCELLED', message: `round ${round}` });
      const next = send(m, '/flow/echo', { round });
      assertActionError(await fail.done, fail.id, 1, `round ${round}`);
      assertRunOk(await next.done, next.id, { round });
    }
  });

  test('a short run held up for a moment (its worker stopped 20 ms) does not grow the pool', async () => {
    const m = await startManager({ args: ['--workers', '2', '--max-workers', '16'] }, closers);
    for (let i = 0; i < 20; i++) {
      const { reply, id } = await m.runAction('/flow/echo', { warm: i });
      assertRunOk(reply, id, { warm: i });
    }
    // Workers are PID 1 of their own namespace; the zygote is not.
    const isWorker = (p) => /^NSpid:\s+\d+\s+1$/m.test(readFileSync(`/proc/${p.pid}/status`, 'latin1'));
    const victim = descendants(m.pid).find((p) => p.comm === 'genkit-worker' && isWorker(p));
    assert.ok(victim, 'a worker to stop');
    const most = await mostWorkersDuringEchoes(m, 3000, 2, async (i) => {
      if (i !== 1000)
        return;
      // Both workers are busy now: hold one in the middle of its run
      // longer than the 5 ms growth threshold, less than 50 ms.
      process.kill(victim.pid, 'SIGSTOP');
      await delay(20);
      process.kill(victim.pid, 'SIGCONT');
    });
    assert.equal(most, 3, 'zygote + the 2 --workers, never more');
  });
});
