// Size and concurrency: a 16 MiB input, 500 requests in flight, exact
// number tokens carried as bytes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startManager, closeAll } from './manager.mjs';
import { assertRunOk, assertRunEvents } from './expect.mjs';

describe('load', () => {
  let m;
  const closers = [];
  before(async () => {
    m = await startManager({ args: [] }, closers);
  });
  after(() => closeAll(closers));

  test('16 MiB input echoes back byte for byte', async () => {
    const big = { blob: 'a€😀\\"'.repeat((16 << 20) / 8), tail: [1, 2, 3] };
    const { reply, run, id } = await m.runAction('/flow/echo', big, {}, { timeoutMs: 60000 });
    assertRunEvents(run, assertRunOk(reply, id, big), []);
    assert.ok(Buffer.byteLength(m.rawOf(reply)) > 16 << 20, 'the reply frame is over 16 MiB');
  });

  test('16 MiB of chunks streamed back by bidiEcho (64 x 256 KiB)', async () => {
    const id = m.newId();
    const p = m.request('runAction', { key: '/flow/bidiEcho', stream: true, streamInput: true }, { id, timeoutMs: 60000 });
    const chunks = Array.from({ length: 64 }, (_, i) => ({ i, s: String.fromCharCode(65 + (i % 26)).repeat(256 << 10) }));
    for (const chunk of chunks) m.notify('sendInputStreamChunk', { requestId: id, chunk });
    m.notify('endInputStream', { requestId: id });
    const reply = await p;
    assertRunEvents(m.run(id), assertRunOk(reply, id, 64), chunks);
  });

  test('500 concurrent echoes: every reply carries its own request id and value', async () => {
    const n = 500;
    const t0 = Date.now();
    const all = await Promise.all(
      Array.from({ length: n }, (_, i) => m.runAction('/flow/echo', { i, s: `v${i}`, pad: 'p'.repeat(i) }, {}, { timeoutMs: 60000 }))
    );
    const traces = new Set();
    all.forEach(({ reply, run, id }, i) => {
      const t = assertRunOk(reply, id, { i, s: `v${i}`, pad: 'p'.repeat(i) });
      assertRunEvents(run, t, []);
      traces.add(t);
    });
    assert.equal(traces.size, n);
    assert.ok(Date.now() - t0 < 60000);
  });

  test('500 concurrent mixed runs: echo, streamed count, sleep', async () => {
    const jobs = Array.from({ length: 500 }, (_, i) => {
      if (i % 3 === 0) return m.runAction('/flow/count', { n: i % 7 }, { stream: true }, { timeoutMs: 60000 }).then((r) => ['count', i % 7, r]);
      if (i % 3 === 1) return m.runAction('/flow/sleep', { ms: i % 20 }, {}, { timeoutMs: 60000 }).then((r) => ['sleep', i % 20, r]);
      return m.runAction('/flow/echo', [i], {}, { timeoutMs: 60000 }).then((r) => ['echo', [i], r]);
    });
    for (const [kind, want, { reply, run, id }] of await Promise.all(jobs)) {
      const t = assertRunOk(reply, id, want);
      assertRunEvents(run, t, kind === 'count' ? Array.from({ length: want }, (_, i) => ({ i })) : []);
    }
  });

  test('number tokens come back exactly as sent (big, -0, exponents)', async () => {
    const tokens = ['-0', '1e300', '-1E-300', '12345678901234567890123456789', '0.1000000000000000055511151231257827', '1.0', '5e-324'];
    for (const tok of tokens) {
      const id = m.newId();
      const text = `{"jsonrpc":"2.0","id":"${id}","method":"runAction","params":{"key":"/flow/echo","input":{"n":${tok}}}}`;
      const reply = await m.requestRaw(id, text, { method: 'runAction' });
      assertRunOk(reply, id, { n: JSON.parse(tok) });
      assert.ok(m.rawOf(reply).includes(`{"n":${tok}}`), `${tok} kept as text in ${m.rawOf(reply).slice(0, 200)}`);
    }
  });
});
