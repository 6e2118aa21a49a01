// A test double of the Genkit manager (Reflection API V2, the server side of
// the WebSocket), plus process helpers. It spawns a runtime - our
// genkit-supervisor, or the genkit JS reference runtime - pointed at itself,
// and lets a test speak JSON-RPC to it.
//
//   const m = new TestManager({ args: ['--workers', '2'] });
//   await m.start();                       // listens, spawns, waits for register
//   const r = await m.request('runAction', { key: '/flow/echo', input: 1 });
//   m.run(r.id).events                     // runActionState / streamChunk / reply
//   await m.close();                       // kills everything it started
//
// Nothing here sleeps for a fixed time: every wait is waitFor(condition,
// timeout) and every timeout is bounded, so a broken runtime fails a test
// instead of hanging CI.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.GK_SOURCE_DIR || path.resolve(here, '../..');
export const BUILD_DIR = process.env.GK_BUILD_DIR || path.join(SOURCE_DIR, 'build');
export const SUPERVISOR_BIN =
  process.env.GK_SUPERVISOR_BIN || path.join(BUILD_DIR, 'supervisor', 'genkit-supervisor');
export const JS_RUNTIME_DIR = path.join(SOURCE_DIR, 'tools', 'bench', 'js-runtime');
export const JS_RUNTIME = path.join(JS_RUNTIME_DIR, 'runtime.mjs');

/** Which runtime a protocol-generic test drives: GK_RUNTIME=js or supervisor. */
export const RUNTIME = process.env.GK_RUNTIME === 'js' ? 'js' : 'supervisor';

export const DEMO_KEYS = [
  '/flow/bidiEcho',
  '/flow/count',
  '/flow/crash',
  '/flow/echo',
  '/flow/fail',
  '/flow/sleep',
  '/flow/spin',
];

export const TRACE_ID_RE = /^[0-9a-f]{32}$/;

/** Rejects unless cond() becomes truthy within timeoutMs; resolves to its value. */
export async function waitFor(cond, timeoutMs = 5000, what = 'condition', intervalMs = 5) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A promise with a bound: rejects with `what` when it does not settle in time. */
export function withTimeout(promise, timeoutMs, what = 'operation') {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(t));
}

// ---------------------------------------------------------------- /proc

/** /proc/PID/stat as {pid, comm, state, ppid, pgrp, starttime}, or null. */
export function procStat(pid) {
  let s;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const close = s.lastIndexOf(')');
  const comm = s.slice(s.indexOf('(') + 1, close);
  const f = s.slice(close + 2).split(' '); // f[0] = field 3 (state)
  return {
    pid: Number(pid),
    comm,
    state: f[0],
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    starttime: f[19], // field 22
    cpuTicks: Number(f[11]) + Number(f[12]), // utime + stime (fields 14, 15)
  };
}

/** Every process on the system, as procStat records. */
export function allProcs() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(d);
    if (st) out.push(st);
  }
  return out;
}

/** Processes whose parent chain leads to rootPid (rootPid itself excluded). */
export function descendants(rootPid) {
  const procs = allProcs();
  const kids = new Map();
  for (const p of procs) {
    if (!kids.has(p.ppid)) kids.set(p.ppid, []);
    kids.get(p.ppid).push(p);
  }
  const out = [];
  const todo = [Number(rootPid)];
  while (todo.length) {
    for (const c of kids.get(todo.pop()) || []) {
      out.push(c);
      todo.push(c.pid);
    }
  }
  return out;
}

/**
 * Whether the process recorded by procStat still exists: same pid, same
 * start time (pid reuse), and not a zombie (a zombie has run its course;
 * PID 1 here does not always reap).
 */
export function isAlive(rec) {
  const st = procStat(rec.pid);
  return !!st && st.starttime === rec.starttime && st.state !== 'Z';
}

/**
 * Waits until one descendant of rootPid has burnt minTicks of CPU since the
 * call (a busy loop); resolves to its procStat record.
 */
export async function findBurner(rootPid, { minTicks = 20, timeoutMs = 10000 } = {}) {
  const base = new Map(descendants(rootPid).map((p) => [`${p.pid}/${p.starttime}`, p.cpuTicks]));
  return waitFor(
    () =>
      descendants(rootPid).find(
        (p) => p.state !== 'Z' && p.cpuTicks - (base.get(`${p.pid}/${p.starttime}`) ?? 0) >= minTicks
      ),
    timeoutMs,
    `a descendant of ${rootPid} burning CPU`,
    20
  );
}

/** The recorded processes that are still alive. */
export function alive(recs) {
  return recs.filter(isAlive);
}

function killQuietly(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone already */
  }
}

// ---------------------------------------------------------------- manager

const live = new Set(); // managers not closed yet: killed on process exit
process.on('exit', () => {
  for (const m of live) m.killAll();
});

export class TestManager {
  /**
   * opts:
   *   runtime        'supervisor' (default: $GK_RUNTIME) or 'js'
   *   args           extra argv (supervisor: after --demo)
   *   demo           pass --demo (supervisor; default true)
   *   env            extra environment (undefined values remove a variable)
   *   registerReply  result sent for register (default {}); false = never answer
   *   port           listen on this port (default: ephemeral)
   *   spawnRuntime   false = only listen (the test connects something itself)
   *   startTimeoutMs bound for listen + spawn + register (default 20000)
   */
  constructor(opts = {}) {
    this.opts = opts;
    this.runtime = opts.runtime || RUNTIME;
    this.port = opts.port || 0;
    this.registerReply = opts.registerReply === undefined ? {} : opts.registerReply;
    this.nextId = 0;
    this.pending = new Map(); // id -> {resolve, reject, timer, method}
    this.runs = new Map(); // requestId -> {events, states, chunks, reply}
    this.messages = []; // everything received, in order
    this.orphans = []; // replies matching no pending request (e.g. id null)
    this.unsolicited = []; // requests/notifications we do not route
    this.registrations = []; // register params, one per (re)connect
    this.connections = []; // every ws that connected, in order
    this.conn = null; // the ws that registered last
    this.raw = new WeakMap(); // message object -> frame text
    this.stderr = '';
    this.stdout = '';
    this.exited = null; // {code, signal} once the runtime exits
    this.proc = null;
    this.wss = null;
  }

  get url() {
    return `ws://127.0.0.1:${this.port}`;
  }

  // -------------------------------------------------- server

  async listen() {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: this.port, maxPayload: 256 << 20 });
    await withTimeout(
      new Promise((resolve, reject) => {
        this.wss.once('listening', resolve);
        this.wss.once('error', reject);
      }),
      5000,
      `listen on 127.0.0.1:${this.port}`
    );
    this.port = this.wss.address().port;
    this.wss.on('connection', (ws) => this.onConnection(ws));
  }

  onConnection(ws) {
    this.connections.push(ws);
    ws.closedAt = null;
    ws.on('close', () => {
      ws.closedAt = Date.now();
    });
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      let msg;
      try {
        msg = JSON.parse(text);
      } catch (e) {
        this.messages.push({ unparsable: text.slice(0, 200), isBinary });
        return;
      }
      if (msg && typeof msg === 'object') this.raw.set(msg, text);
      this.messages.push(msg);
      this.route(ws, msg);
    });
  }

  route(ws, msg) {
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      this.unsolicited.push(msg);
      return;
    }
    if (typeof msg.method === 'string') {
      const p = msg.params || {};
      if (msg.method === 'register') {
        this.registrations.push({ params: msg.params, id: msg.id, at: Date.now(), ws });
        this.conn = ws;
        if (this.registerReply !== false && msg.id !== undefined) {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: this.registerReply }));
        }
      } else if (msg.method === 'runActionState' && msg.id === undefined) {
        const r = this.run(p.requestId);
        r.states.push(p.state);
        r.events.push({ type: 'state', state: p.state, msg });
      } else if (msg.method === 'streamChunk' && msg.id === undefined) {
        const r = this.run(p.requestId);
        r.chunks.push(p.chunk);
        r.events.push({ type: 'chunk', chunk: p.chunk, msg });
      } else {
        this.unsolicited.push(msg);
      }
      return;
    }
    if ('result' in msg || 'error' in msg) {
      const pend = typeof msg.id === 'string' ? this.pending.get(msg.id) : undefined;
      if (!pend) {
        this.orphans.push(msg);
        return;
      }
      this.pending.delete(msg.id);
      clearTimeout(pend.timer);
      if (pend.method === 'runAction') {
        const r = this.run(msg.id);
        r.reply = msg;
        r.events.push({ type: 'reply', msg });
      }
      pend.resolve(msg);
      return;
    }
    this.unsolicited.push(msg);
  }

  /** Notifications and the reply of one runAction, by its request id. */
  run(requestId) {
    const k = String(requestId);
    if (!this.runs.has(k)) this.runs.set(k, { events: [], states: [], chunks: [], reply: null });
    return this.runs.get(k);
  }

  /** Stops listening and drops every connection (the runtime keeps running). */
  async stopServer() {
    const wss = this.wss;
    this.wss = null;
    if (!wss) return;
    for (const ws of wss.clients) ws.terminate();
    await withTimeout(new Promise((r) => wss.close(() => r())), 5000, 'close the WebSocket server');
  }

  /** Listens again on the same port. */
  async restartServer() {
    await this.stopServer();
    await this.listen();
  }

  // -------------------------------------------------- runtime

  command() {
    if (this.runtime === 'js') {
      if (!existsSync(path.join(JS_RUNTIME_DIR, 'node_modules', 'genkit'))) {
        throw new Error(`JS runtime not installed: run npm ci in ${JS_RUNTIME_DIR}`);
      }
      return { cmd: process.execPath, args: [JS_RUNTIME, ...(this.opts.args || [])], cwd: JS_RUNTIME_DIR };
    }
    const demo = this.opts.demo === false ? [] : ['--demo'];
    return { cmd: SUPERVISOR_BIN, args: [...demo, ...(this.opts.args || [])], cwd: undefined };
  }

  spawnRuntime() {
    const { cmd, args, cwd } = this.command();
    const env = { ...process.env };
    delete env.GENKIT_RUNTIME_ID;
    delete env.GENKIT_TELEMETRY_SERVER;
    env.GENKIT_REFLECTION_V2_SERVER = this.url;
    if (this.runtime === 'js') env.GENKIT_ENV = 'dev';
    for (const [k, v] of Object.entries(this.opts.env || {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    this.exited = null;
    // detached: its own process group, so close() can kill the whole group.
    const proc = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.pid = proc.pid;
    const cap = 1 << 20;
    proc.stdout.on('data', (d) => {
      this.stdout = (this.stdout + d).slice(-cap);
    });
    proc.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-cap);
    });
    proc.on('error', (e) => {
      this.stderr += `\n[spawn error: ${e.message}]`;
      this.exited = { code: null, signal: null, error: e };
    });
    proc.on('exit', (code, signal) => {
      this.exited = { code, signal };
    });
    this.rootStat = procStat(proc.pid);
    live.add(this);
    return proc;
  }

  /** Listens, spawns the runtime, waits for its first register. */
  async start() {
    await this.listen();
    if (this.opts.spawnRuntime === false) return this;
    this.spawnRuntime();
    await this.waitFor(
      () => this.registrations.length > 0 || this.exited,
      this.opts.startTimeoutMs || 20000,
      'register'
    );
    if (!this.registrations.length) {
      throw new Error(`runtime exited before register: ${JSON.stringify(this.exited)}\n${this.diag()}`);
    }
    return this;
  }

  /** Waits for the runtime to exit; resolves to {code, signal}. */
  async waitExit(timeoutMs = 10000) {
    await this.waitFor(() => this.exited, timeoutMs, 'runtime exit');
    return this.exited;
  }

  /** Descendants of the runtime (workers and their children), from /proc. */
  children() {
    return this.pid ? descendants(this.pid) : [];
  }

  /** Kills everything this manager started, no questions asked. */
  killAll() {
    const kids = this.pid ? descendants(this.pid) : [];
    if (this.pid && !this.exited) killQuietly(-this.pid, 'SIGKILL');
    if (this.pid && !this.exited) killQuietly(this.pid, 'SIGKILL');
    for (const k of kids) killQuietly(k.pid, 'SIGKILL');
    for (const k of this.seenChildren || []) if (isAlive(k)) killQuietly(k.pid, 'SIGKILL');
  }

  /** Remembers the runtime's current descendants (killAll() kills them too). */
  snapshotChildren() {
    const kids = this.children();
    this.seenChildren = [...(this.seenChildren || []), ...kids];
    return kids;
  }

  async close() {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('manager closed'));
    }
    this.pending.clear();
    if (this.proc) {
      this.snapshotChildren();
      this.killAll();
      try {
        await this.waitExit(5000);
      } catch {
        /* reported by the test that cares */
      }
    }
    await this.stopServer();
    live.delete(this);
  }

  // -------------------------------------------------- JSON-RPC

  /** ws of the current registration, or throws. */
  link() {
    const ws = this.conn;
    if (!ws || ws.readyState !== ws.OPEN) throw new Error(`no open link to the runtime\n${this.diag()}`);
    return ws;
  }

  /**
   * Sends a request; resolves to the full reply message ({jsonrpc, id,
   * result|error}). Bounded by timeoutMs (default 30 s, like the real
   * manager; runAction callers pass their own).
   */
  request(method, params, { timeoutMs = 30000, id } = {}) {
    const reqId = id ?? String(++this.nextId);
    const msg = { jsonrpc: '2.0', id: reqId, method };
    if (params !== undefined) msg.params = params;
    return this.requestRaw(reqId, JSON.stringify(msg), { timeoutMs, method });
  }

  /** Sends pre-serialized request text whose id is reqId. */
  requestRaw(reqId, text, { timeoutMs = 30000, method = '?' } = {}) {
    const ws = this.link();
    if (method === 'runAction') this.run(reqId);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new Error(`${method} id ${reqId}: no reply in ${timeoutMs} ms\n${this.diag()}`));
      }, timeoutMs);
      this.pending.set(reqId, { resolve, reject, timer, method });
      ws.send(text);
    });
  }

  /** Allocates the next request id without sending anything. */
  newId() {
    return String(++this.nextId);
  }

  notify(method, params) {
    const msg = { jsonrpc: '2.0', method };
    if (params !== undefined) msg.params = params;
    this.link().send(JSON.stringify(msg));
  }

  /** Sends a text frame as is. */
  sendRaw(text) {
    this.link().send(text);
  }

  /** Frame text of a received message object. */
  rawOf(msg) {
    return this.raw.get(msg);
  }

  /** runAction; resolves to {reply, run} where run holds states/chunks/events. */
  async runAction(key, input, extra = {}, { timeoutMs = 30000 } = {}) {
    const params = { key, ...extra };
    if (input !== undefined) params.input = input;
    const id = this.newId();
    const reply = await this.request('runAction', params, { timeoutMs, id });
    return { reply, run: this.run(id), id };
  }

  /** runAction/echo round trip; resolves to the result value (throws on error). */
  async echo(value, timeoutMs = 10000) {
    const { reply } = await this.runAction('/flow/echo', value, {}, { timeoutMs });
    if (reply.error) throw new Error(`echo failed: ${JSON.stringify(reply.error)}`);
    return reply.result.result;
  }

  waitFor(cond, timeoutMs = 5000, what = 'condition') {
    return waitFor(cond, timeoutMs, what).catch((e) => {
      e.message += `\n${this.diag()}`;
      throw e;
    });
  }

  /** Last lines of the runtime's stderr, for failure messages. */
  diag() {
    const tail = this.stderr.split('\n').slice(-25).join('\n');
    return `--- runtime (${this.runtime}, pid ${this.pid}, exited ${JSON.stringify(this.exited)}) stderr tail ---\n${tail}`;
  }
}

/**
 * Starts a manager + runtime. Pass `closers` (an array) and close them in the
 * suite's after() - see closeAll(); a before() hook cannot register after().
 */
export async function startManager(opts, closers) {
  const m = new TestManager(opts);
  if (closers) closers.push(m);
  await m.start();
  return m;
}

/** Closes every manager in the list (for after()). */
export async function closeAll(closers) {
  await Promise.all(closers.splice(0).map((m) => m.close()));
}
