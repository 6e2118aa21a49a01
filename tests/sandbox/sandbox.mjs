// Helpers for the sandbox / limits tests (issue 3): a supervisor per
// scenario, the worker processes it forked (from /proc), and the checks
// every scenario ends with. Built on ../integration/manager.mjs, used as is.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  TestManager,
  DEMO_KEYS,
  BUILD_DIR,
  TRACE_ID_RE,
  procStat,
  isAlive,
  alive,
  descendants,
} from '../integration/manager.mjs';
import { assertActionError } from '../integration/expect.mjs';

/** The demo actions, the protocol ones plus one per limit / sandbox rule. */
export const ALL_KEYS = [
  ...DEMO_KEYS,
  '/flow/allocate',
  '/flow/connect',
  '/flow/forkBomb',
  '/flow/spawnOrphan',
  '/flow/writeFile',
].sort();

export const NOBODY_UID = 65534;

/** b_sanitize of the build under test ('none', 'address,undefined', ...). */
export function sanitizer() {
  try {
    const opts = JSON.parse(readFileSync(path.join(BUILD_DIR, 'meson-info', 'intro-buildoptions.json'), 'utf8'));
    return opts.find((o) => o.name === 'b_sanitize')?.value || 'none';
  } catch {
    return 'none';
  }
}
export const UNDER_ASAN = sanitizer().includes('address');

/** /proc/PID/status as {uid, rssKb, hwmKb, nspid: [..]}, or null. */
export function procStatus(pid) {
  let s;
  try {
    s = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const num = (re) => {
    const m = re.exec(s);
    return m ? Number(m[1]) : undefined;
  };
  const ns = /^NSpid:\s+(.*)$/m.exec(s);
  return {
    uid: num(/^Uid:\s+(\d+)/m),
    rssKb: num(/^VmRSS:\s+(\d+)/m),
    hwmKb: num(/^VmHWM:\s+(\d+)/m),
    nspid: ns ? ns[1].trim().split(/\s+/).map(Number) : [],
  };
}

/** Live (non-zombie) workers: the supervisor's children other than its zygote. */
export function workers(m) {
  return m
    .children()
    .filter((p) => p.ppid === m.pid && p.state !== 'Z' && !(m.zygote && p.pid === m.zygote.pid));
}

/** Processes of uid `uid` among the supervisor's descendants. */
export function descendantsOfUid(m, uid) {
  return m.children().filter((p) => p.state !== 'Z' && procStatus(p.pid)?.uid === uid);
}

const live = [];

/**
 * A supervisor with --demo --demo-limits, --workers 1 (unless args say otherwise) and
 * args; waits for register (which follows the first worker's hello) and
 * notes the zygote. Push nothing: closeSupervisors() in after() ends them.
 */
export async function startSupervisor(args = [], opts = {}) {
  const base = args.includes('--workers') ? args : ['--workers', '1', ...args];
  const a = ['--demo-limits', ...base];
  const m = new TestManager({ ...opts, args: a });
  live.push(m);
  await m.start();
  // The zygote is the supervisor's first child (spawned before any worker).
  const kids = m.children().filter((p) => p.ppid === m.pid);
  kids.sort((x, y) => Number(x.starttime) - Number(y.starttime) || x.pid - y.pid);
  m.zygote = kids[0];
  assert.ok(m.zygote, `a zygote process\n${m.diag()}`);
  return m;
}

/** Closes one supervisor (and every process it started). */
export async function closeSupervisor(m) {
  const i = live.indexOf(m);
  if (i >= 0) live.splice(i, 1);
  await m.close();
}

/** For after(): closes every supervisor still open. */
export async function closeSupervisors() {
  await Promise.all(live.splice(0).map((m) => m.close()));
}

/** Waits until the supervisor has exactly n live workers; returns them. */
export async function settledWorkers(m, n = 1, timeoutMs = 5000) {
  let ws;
  await m.waitFor(() => (ws = workers(m)).length === n, timeoutMs, `exactly ${n} worker(s)`);
  return ws;
}

/** Sends runAction without waiting: {id, done (promise of the reply), t0, run}. */
export function startRun(m, key, input, extra = {}, timeoutMs = 30000) {
  const params = { key, ...extra };
  if (input !== undefined) params.input = input;
  const id = m.newId();
  const t0 = performance.now();
  const done = m.request('runAction', params, { timeoutMs, id }).then((reply) => {
    done.ms = performance.now() - t0;
    return reply;
  });
  return { id, done, t0, run: m.run(id) };
}

/** Waits for the run's runActionState; returns its trace id. */
export async function traceIdOf(m, run, timeoutMs = 5000) {
  await m.waitFor(() => run.run.states.length > 0, timeoutMs, `runActionState of run ${run.id}`);
  return run.run.states[0].traceId;
}

/**
 * The reply is an action failure with Genkit status `code` and `message`
 * (string: exact; RegExp: match), and its Status names the trace id the
 * runActionState announced.
 */
export function assertStatus(reply, run, code, message) {
  const details = assertActionError(reply, run.id, code, message);
  assert.equal(run.run.states.length, 1, 'exactly one runActionState');
  assert.match(run.run.states[0].traceId, TRACE_ID_RE);
  assert.equal(details.traceId, run.run.states[0].traceId, 'data.details.traceId is the runActionState trace id');
  return details;
}

/** A successful reply carrying `value`. */
export function assertResult(reply, value) {
  assert.equal(reply.error, undefined, `unexpected error: ${JSON.stringify(reply.error)}`);
  assert.deepStrictEqual(reply.result.result, value);
  assert.match(reply.result.telemetry.traceId, TRACE_ID_RE);
}

/**
 * Another request served while a hostile run is in progress: /flow/sleep
 * {ms:200} must answer 200 within boundMs. Returns the elapsed ms.
 */
export async function concurrentSleep(m, boundMs = 3000) {
  const r = startRun(m, '/flow/sleep', { ms: 200 }, {}, boundMs);
  const reply = await r.done;
  assertResult(reply, 200);
  // It did sleep (give or take a coarse clock's jiffy).
  assert.ok(r.done.ms >= 190, `sleep 200 answered after ${r.done.ms} ms`);
  return r.done.ms;
}

/** An echo that must complete within boundMs; returns the elapsed ms. */
export async function timedEcho(m, value, boundMs) {
  const r = startRun(m, '/flow/echo', value, {}, boundMs + 5000);
  const reply = await r.done;
  assertResult(reply, value);
  assert.ok(r.done.ms < boundMs, `echo took ${r.done.ms.toFixed(1)} ms, bound ${boundMs} ms`);
  return r.done.ms;
}

/** Waits (bounded) until none of the recorded processes is alive. */
export async function assertAllGone(m, recs, what, timeoutMs = 5000) {
  await m.waitFor(() => alive(recs).length === 0, timeoutMs, `${what} to be gone (alive: ${alive(recs).map((p) => p.pid)})`);
}

/** The supervisor is still running and listActions answers with every demo key. */
export async function assertServing(m) {
  assert.equal(m.exited, null, `supervisor exited\n${m.diag()}`);
  assert.ok(isAlive(m.rootStat), 'supervisor process alive');
  const reply = await m.request('listActions', undefined, { timeoutMs: 5000 });
  assert.equal(reply.error, undefined, JSON.stringify(reply.error));
  assert.deepEqual(Object.keys(reply.result.actions).sort(), ALL_KEYS);
  assert.ok(isAlive(m.zygote), 'zygote alive');
}

/** Length of stderr now, so later lines can be searched from here. */
export function stderrMark(m) {
  return m.stderr.length;
}

/** {local, global} pids printed by /flow/spawnOrphan after `mark`, once printed. */
export async function orphanPid(m, mark, timeoutMs = 5000) {
  const re = /spawnOrphan: child pid (\d+) \(global (-?\d+)\)/;
  const hit = await m.waitFor(() => re.exec(m.stderr.slice(mark)), timeoutMs, 'the spawnOrphan child pid line');
  return { local: Number(hit[1]), global: Number(hit[2]) };
}

export { procStat, isAlive, alive, descendants, waitFor, withTimeout } from '../integration/manager.mjs';

/**
 * The common shape of a limit scenario on a supervisor whose only worker is
 * idle: run `key` (it lands on that worker), serve a concurrent
 * /flow/sleep {ms:200} meanwhile, expect Status `code`/`message`, then
 * expect the worker that ran it and everything it started to be gone, and
 * the supervisor still serving. Returns {reply, run, ms, worker}.
 */
export async function limitScenario(m, { key, input, extra = {}, code, message, runTimeoutMs = 15000 }) {
  const [worker] = await settledWorkers(m, 1);
  const r = startRun(m, key, input, extra, runTimeoutMs);
  await traceIdOf(m, r);
  const tree = [worker, ...descendants(worker.pid)];
  const other = concurrentSleep(m);
  const reply = await r.done;
  tree.push(...descendants(worker.pid).filter((p) => !tree.some((q) => q.pid === p.pid)));
  assertStatus(reply, r, code, message);
  await other;
  await assertAllGone(m, tree, `worker ${worker.pid} that ran ${key} and its processes`);
  await assertServing(m);
  return { reply, run: r, ms: r.done.ms, worker };
}
