// --mode fresh: every run gets a process that never ran anything; --mode
// pooled (default) reuses it; --max-runs-per-worker recycles it after N runs.
// Which worker ran a run is read from /proc: with --workers 1 and runs one
// at a time, the only worker takes the run (a fresh one is retired after).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSupervisor,
  closeSupervisors,
  settledWorkers,
  workers,
  assertResult,
  assertServing,
  assertAllGone,
  isAlive,
  procStatus,
  UNDER_ASAN,
} from './sandbox.mjs';

/** The one worker that is not `prev` (waits for the replacement). */
async function nextWorker(m, prev) {
  let ws;
  await m.waitFor(
    () => (ws = workers(m)).length === 1 && (!prev || ws[0].pid !== prev.pid || ws[0].starttime !== prev.starttime),
    5000,
    'exactly one new worker'
  );
  return ws[0];
}

async function echo(m, v) {
  const r = await m.runAction('/flow/echo', v, {}, { timeoutMs: 5000 });
  assertResult(r.reply, v);
}

const hwmMb = (w) => procStatus(w.pid).hwmKb / 1024;
const ALLOC_MB = 50;
// A process forked from the small zygote peaks at a few MB (ASan's runtime
// adds some); one that touched ALLOC_MB MB peaks above it.
const FRESH_HWM_MAX_MB = UNDER_ASAN ? 40 : 25;

describe('modes', () => {
  after(closeSupervisors);

  test('fresh: 5 sequential echoes, 5 different workers, each retired after its run', async () => {
    const m = await startSupervisor(['--mode', 'fresh']);
    const seen = [];
    let prev = null;
    for (let i = 0; i < 5; i++) {
      const w = await nextWorker(m, prev);
      await echo(m, { i });
      await assertAllGone(m, [w], `fresh worker ${w.pid} after run ${i}`);
      seen.push(w.pid);
      prev = w;
    }
    assert.equal(new Set(seen).size, 5, `workers ${seen}`);
    await assertServing(m);
  });

  test(`fresh: after allocate ${ALLOC_MB} MB the next run's worker never held that memory`, async () => {
    const m = await startSupervisor(['--mode', 'fresh']);
    const a = await nextWorker(m, null);
    const r = await m.runAction('/flow/allocate', { mb: ALLOC_MB }, {}, { timeoutMs: 10000 });
    assertResult(r.reply, ALLOC_MB);
    await assertAllGone(m, [a], `fresh worker ${a.pid} after allocate`);
    const b = await nextWorker(m, a);
    assert.ok(hwmMb(b) < FRESH_HWM_MAX_MB, `next worker peaked at ${hwmMb(b).toFixed(1)} MB`);
    await echo(m, 'after');
    await assertServing(m);
  });

  test('pooled (default), --workers 1: sequential runs reuse one worker', async () => {
    const m = await startSupervisor([]);
    const [w] = await settledWorkers(m, 1);
    for (let i = 0; i < 5; i++) {
      await echo(m, { i });
      const ws = workers(m);
      assert.deepEqual(ws.map((x) => x.pid), [w.pid], `after run ${i}`);
      assert.ok(isAlive(w));
    }
    // The control for the fresh-mode memory check: a reused worker has held it.
    const r = await m.runAction('/flow/allocate', { mb: ALLOC_MB }, {}, { timeoutMs: 10000 });
    assertResult(r.reply, ALLOC_MB);
    assert.deepEqual(workers(m).map((x) => x.pid), [w.pid]);
    assert.ok(hwmMb(w) >= ALLOC_MB, `pooled worker peaked at ${hwmMb(w).toFixed(1)} MB`);
    await assertServing(m);
  });

  test('--max-runs-per-worker 3 --workers 1: the worker changes after every 3 runs', async () => {
    const m = await startSupervisor(['--max-runs-per-worker', '3']);
    let prev = null;
    const seen = [];
    for (let k = 0; k < 2; k++) {
      const w = await nextWorker(m, prev);
      for (let i = 0; i < 3; i++) {
        if (i > 0) assert.deepEqual(workers(m).map((x) => x.pid), [w.pid], `run ${3 * k + i} on ${w.pid}`);
        await echo(m, { k, i });
      }
      await assertAllGone(m, [w], `worker ${w.pid} after 3 runs`);
      seen.push(w.pid);
      prev = w;
    }
    assert.notEqual(seen[0], seen[1]);
    await assertServing(m);
  });
});
