// cancelAction: a cooperative action (sleep), an uncooperative one (spin,
// which only a kill stops), a queued run; crashes; a full queue.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startManager, closeAll, findBurner, isAlive, DEMO_KEYS } from './manager.mjs';
import { assertRunOk, assertActionError } from './expect.mjs';

/** Starts a runAction and waits for its runActionState; returns {id, traceId, done}. */
async function startRun(m, key, input, extra = {}) {
  const id = m.newId();
  const params = { key, input, ...extra };
  const done = m.request('runAction', params, { id, timeoutMs: 20000 });
  const run = m.run(id);
  await m.waitFor(() => run.states.length > 0 || run.reply, 10000, `runActionState of ${key}`);
  assert.ok(run.states.length, `runActionState before the reply of ${key}: ${JSON.stringify(run.reply)}`);
  return { id, traceId: run.states[0].traceId, done, run };
}

describe('cancel', () => {
  let m;
  const closers = [];
  before(async () => {
    m = await startManager({ args: ['--workers', '2', '--cancel-grace-ms', '200'] }, closers);
  });
  after(() => closeAll(closers));

  test('cancel /flow/sleep {ms:30000}: "Action cancelled", then CANCELLED "Action was cancelled"', async () => {
    const t0 = Date.now();
    const s = await startRun(m, '/flow/sleep', { ms: 30000 });
    const c = await m.request('cancelAction', { traceId: s.traceId });
    assert.deepEqual(c, { jsonrpc: '2.0', id: c.id, result: { message: 'Action cancelled' } });
    const reply = await s.done;
    const details = assertActionError(reply, s.id, 1, 'Action was cancelled');
    assert.equal(details.traceId, s.traceId);
    assert.ok(Date.now() - t0 < 5000, `cancelled in ${Date.now() - t0} ms`);
    const again = await m.request('cancelAction', { traceId: s.traceId });
    assert.equal(again.error?.code, -32602, 'a second cancel finds nothing');
    assert.deepEqual(await m.echo({ after: 'sleep cancel' }), { after: 'sleep cancel' });
  });

  test('cancel /flow/spin: CANCELLED, the spinning process is gone, next echo answered', async () => {
    const s = await startRun(m, '/flow/spin', {});
    const burner = await findBurner(m.pid);
    m.snapshotChildren();
    const c = await m.request('cancelAction', { traceId: s.traceId });
    assert.deepEqual(c.result, { message: 'Action cancelled' });
    const reply = await s.done;
    assert.equal(assertActionError(reply, s.id, 1, 'Action was cancelled').traceId, s.traceId);
    // SIGTERM is ignored by nobody here, but the grace is 200 ms: allow 3 s.
    await m.waitFor(() => !isAlive(burner), 3000, `spinning pid ${burner.pid} to die`);
    assert.deepEqual(await m.echo('next'), 'next');
    const still = m.children().filter((p) => p.state === 'R' && p.cpuTicks > burner.cpuTicks + 50);
    assert.deepEqual(still, [], 'nothing keeps spinning');
  });

  test('two spins cancelled at once: both CANCELLED, both processes gone', async () => {
    const a = await startRun(m, '/flow/spin', 1);
    const b = await startRun(m, '/flow/spin', 2);
    const burners = [];
    burners.push(await findBurner(m.pid));
    await m.waitFor(() => {
      const kids = m.children().filter((p) => p.cpuTicks >= 10 && p.pid !== burners[0].pid);
      return kids.length ? burners.push(kids[0]) : false;
    }, 10000, 'second burner');
    const [ca, cb] = await Promise.all([
      m.request('cancelAction', { traceId: a.traceId }),
      m.request('cancelAction', { traceId: b.traceId }),
    ]);
    assert.deepEqual([ca.result, cb.result], [{ message: 'Action cancelled' }, { message: 'Action cancelled' }]);
    assertActionError(await a.done, a.id, 1, 'Action was cancelled');
    assertActionError(await b.done, b.id, 1, 'Action was cancelled');
    await m.waitFor(() => !burners.some(isAlive), 3000, 'both spinning processes to die');
    assert.equal(await m.echo(3), 3);
  });

  test('/flow/crash among 3 concurrent sleeps {ms:500}: one INTERNAL "worker crashed: SIGSEGV", three 500s, still registered', async () => {
    const sleeps = [1, 2, 3].map(() => m.runAction('/flow/sleep', { ms: 500 }, {}, { timeoutMs: 20000 }));
    const crash = m.runAction('/flow/crash', { boom: true }, {}, { timeoutMs: 20000 });
    // settle everything first, so a failed assertion leaves nothing pending
    const [c, ...done] = await Promise.all([crash, ...sleeps]);
    const details = assertActionError(c.reply, c.id, 13, /^worker crashed: SIGSEGV/);
    assert.deepEqual(c.run.states, [{ traceId: details.traceId }]);
    for (const s of done) assertRunOk(s.reply, s.id, 500);
    const la = await m.request('listActions');
    for (const k of DEMO_KEYS) assert.ok(la.result.actions[k], `${k} still listed`);
    assert.deepEqual(await m.echo({ after: 'crash' }), { after: 'crash' });
    assert.equal(m.registrations.length, 1, 'no reconnect: the link survived the crash');
    assert.equal(m.exited, null, 'the supervisor is alive');
  });

  test('crash 5 times in a row: each answered with SIGSEGV, the pool recovers', async () => {
    const replies = await Promise.all([1, 2, 3, 4, 5].map(() => m.runAction('/flow/crash', null, {}, { timeoutMs: 20000 })));
    for (const c of replies) assertActionError(c.reply, c.id, 13, /^worker crashed: SIGSEGV/);
    const echoes = await Promise.all(Array.from({ length: 20 }, (_, i) => m.echo(i)));
    assert.deepEqual(echoes, Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('cancel with one worker', () => {
  let m;
  const closers = [];
  before(async () => {
    m = await startManager({ args: ['--workers', '1', '--max-workers', '1', '--queue-max', '1'] }, closers);
  });
  after(() => closeAll(closers));

  test('queue full: with 1 worker busy and 1 run queued, the next run fails RESOURCE_EXHAUSTED (8)', async () => {
    const busy = await startRun(m, '/flow/sleep', { ms: 20000 });
    const queuedId = m.newId();
    const queued = m.request('runAction', { key: '/flow/sleep', input: { ms: 20000 } }, { id: queuedId, timeoutMs: 20000 });
    const full = await m.runAction('/flow/echo', 'no room', {}, { timeoutMs: 10000 });
    assertActionError(full.reply, full.id, 8, /.+/);
    // cancel the queued run first (it never reached a worker), then the busy one
    await m.waitFor(() => m.run(queuedId).states.length, 5000, 'runActionState of the queued run');
    const qTrace = m.run(queuedId).states[0].traceId;
    const cq = await m.request('cancelAction', { traceId: qTrace });
    assert.deepEqual(cq.result, { message: 'Action cancelled' });
    assertActionError(await queued, queuedId, 1, 'Action was cancelled');
    const cb = await m.request('cancelAction', { traceId: busy.traceId });
    assert.deepEqual(cb.result, { message: 'Action cancelled' });
    assertActionError(await busy.done, busy.id, 1, 'Action was cancelled');
    assert.equal(await m.echo('room again'), 'room again');
  });

  test('spin on the only worker, cancel: the worker is replaced and serves the next run', async () => {
    const s = await startRun(m, '/flow/spin', null);
    const burner = await findBurner(m.pid);
    m.snapshotChildren();
    const c = await m.request('cancelAction', { traceId: s.traceId });
    assert.deepEqual(c.result, { message: 'Action cancelled' });
    assertActionError(await s.done, s.id, 1, 'Action was cancelled');
    await m.waitFor(() => !isAlive(burner), 3000, `spinning pid ${burner.pid} to die`);
    const t0 = Date.now();
    assert.deepEqual(await m.echo({ n: 1 }), { n: 1 });
    assert.ok(Date.now() - t0 < 5000);
  });
});
