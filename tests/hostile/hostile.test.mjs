// A hostile worker (forged frames, hang-ups) costs only its own run: the
// supervisor answers INTERNAL naming the violation, kills that worker,
// replaces it and keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const build = process.env.GK_BUILD_DIR;
const src = process.env.GK_SOURCE_DIR;
const require = createRequire(path.join(src, 'tests', 'package.json'));
const { WebSocketServer } = require('ws');

let wss, ws, child, stderr = '';
let nextId = 0;
const pending = new Map();

function request(method, params, timeoutMs = 10000) {
  const id = String(++nextId);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${method} ${id}: no reply in ${timeoutMs} ms`)), timeoutMs);
    pending.set(id, (m) => { clearTimeout(t); resolve(m); });
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

before(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.on('listening', r));
  const connected = new Promise((resolve) => wss.on('connection', (sock) => {
    sock.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.method === 'register') {
        sock.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: {} }));
        resolve(sock);
      } else if (!m.method && pending.has(m.id)) {
        const cb = pending.get(m.id);
        pending.delete(m.id);
        cb(m);
      }
    });
  }));
  child = spawn(path.join(build, 'supervisor', 'genkit-supervisor'),
    ['--demo', '--plugin', path.join(build, 'tests', 'hostile', 'hostile.so'),
     '--workers', '1', '--log-level', 'warning'],
    { env: { ...process.env, GENKIT_REFLECTION_V2_SERVER: `ws://127.0.0.1:${wss.address().port}` },
      stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => { stderr += d; });
  ws = await connected;
});

after(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
  wss.close();
});

const cases = [
  ['/test/garbage', 'worker protocol error: undecodable FromWorker message'],
  ['/test/oversize', 'worker protocol error: frame over the size limit'],
  ['/test/otherRun', 'worker protocol error: message for a run it does not own'],
  ['/test/helloAgain', 'worker protocol error: second hello'],
  ['/test/hangUp', 'worker closed its IPC channel during the run'],
  ['/test/badStatus', 'action failed with invalid status 99: status ninety-nine'],
];

for (const [key, message] of cases) {
  test(`${key} fails alone with INTERNAL`, async () => {
    // A run on another worker in parallel must not notice.
    const sleeper = request('runAction', { key: '/flow/sleep', input: { ms: 300 } });
    const m = await request('runAction', { key, input: null });
    assert.equal(m.error?.code, -32000, JSON.stringify(m));
    assert.equal(m.error.data.code, 13);
    assert.equal(m.error.message, message);
    assert.match(m.error.data.details.traceId, /^[0-9a-f]{32}$/);
    const s = await sleeper;
    assert.equal(s.result?.result, 300, JSON.stringify(s));
    const e = await request('runAction', { key: '/flow/echo', input: { after: key } });
    assert.deepEqual(e.result?.result, { after: key });
  });
}

test('the supervisor is still up and registered', async () => {
  const m = await request('listActions');
  assert.ok(m.result.actions['/flow/echo']);
  assert.ok(m.result.actions['/test/garbage']);
  assert.equal(child.exitCode, null);
  assert.doesNotMatch(stderr, /AddressSanitizer|runtime error:/);
});
