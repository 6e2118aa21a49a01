// Hostile or broken input from the manager must never crash or hang the
// supervisor: after each frame, an echo is still answered on the same link.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startManager, closeAll } from './manager.mjs';
import { assertRpcError } from './expect.mjs';

describe('malformed frames', () => {
  let m;
  const closers = [];
  before(async () => {
    m = await startManager({ args: ['--workers', '2'] }, closers);
  });
  after(() => closeAll(closers));

  async function stillServes(what) {
    assert.equal(m.exited, null, `supervisor alive after ${what}`);
    const v = { after: what };
    assert.deepEqual(await m.echo(v, 20000), v, `echo after ${what}`);
    assert.equal(m.registrations.length, 1, `same link after ${what}`);
  }

  test('16 MiB of garbage text: -32700 with id null, then echo', async () => {
    const since = m.orphans.length;
    let garbage = '';
    const piece = 'garbage}{][,:"\\ \u00e9\u2603 ';
    while (garbage.length < 16 << 20) garbage += piece.repeat(4096);
    m.sendRaw(garbage);
    await m.waitFor(() => m.orphans.length > since, 20000, 'parse error for 16 MiB of garbage');
    assertRpcError(m.orphans[since], null, -32700, 3, /^Parse error/);
    await stillServes('16 MiB garbage');
  });

  test('16 MiB JSON that is not a request: -32600 with id null, then echo', async () => {
    const since = m.orphans.length;
    m.sendRaw(JSON.stringify(['x'.repeat(16 << 20)]));
    await m.waitFor(() => m.orphans.length > since, 20000, 'invalid request for a 16 MiB array');
    assertRpcError(m.orphans[since], null, -32600, 3, /^Invalid Request/);
    await stillServes('16 MiB array');
  });

  test('deep nesting (100000 levels) as a frame and as an echo input: answered or refused, never a crash', async () => {
    const since = m.orphans.length;
    m.sendRaw('['.repeat(100000) + ']'.repeat(100000));
    await m.waitFor(() => m.orphans.length > since, 10000, 'a reply to a 100000-deep array');
    // valid JSON but no request (-32600), or refused by a depth limit (-32700)
    assert.ok([-32600, -32700].includes(m.orphans[since].error.code), JSON.stringify(m.orphans[since]));
    await stillServes('deep array frame');
    const id = m.newId();
    const deep = '{"a":'.repeat(100000) + '1' + '}'.repeat(100000);
    const text = `{"jsonrpc":"2.0","id":"${id}","method":"runAction","params":{"key":"/flow/echo","input":${deep}}}`;
    m.sendRaw(text);
    const reply = await m.waitFor(
      () => m.orphans.find((o) => o.id === null && o.error?.code === -32700 && m.orphans.indexOf(o) > since) || m.messages.find((x) => x.id === id && (x.result || x.error)),
      20000,
      'a reply to a 100000-deep echo input'
    );
    if (reply.error) assert.ok([-32700, -32600, -32602, -32000].includes(reply.error.code), JSON.stringify(reply.error).slice(0, 300));
    else assert.ok(m.rawOf(reply).includes(deep), 'deep input echoed exactly');
    await stillServes('deep echo input');
  });

  const odd = [
    ['truncated request', '{"jsonrpc":"2.0","id":"x1","method":"runAction","params":{"key":"/flow/ec'],
    ['numeric id', '{"jsonrpc":"2.0","id":7,"method":"listActions"}'],
    ['object id', '{"jsonrpc":"2.0","id":{"a":1},"method":"listActions"}'],
    ['method is a number', '{"jsonrpc":"2.0","id":"x2","method":5}'],
    ['method is null', '{"jsonrpc":"2.0","id":"x3","method":null}'],
    ['no jsonrpc member', '{"id":"x4","method":"listActions"}'],
    ['jsonrpc 1.0', '{"jsonrpc":"1.0","id":"x5","method":"listActions"}'],
    ['params is a number', '{"jsonrpc":"2.0","id":"x6","method":"runAction","params":42}'],
    ['both result and error', '{"jsonrpc":"2.0","id":"x7","result":1,"error":{"code":1,"message":"m"}}'],
    ['lone surrogate escape in key', '{"jsonrpc":"2.0","id":"x8","method":"runAction","params":{"key":"\\ud800"}}'],
    ['NUL escape in method', '{"jsonrpc":"2.0","id":"x9","method":"list\\u0000Actions"}'],
    ['duplicate keys', '{"jsonrpc":"2.0","id":"x10","id":"x11","method":"listActions","method":"nope"}'],
    ['huge number id', '{"jsonrpc":"2.0","id":1e999999,"method":"listActions"}'],
    ['trailing garbage', '{"jsonrpc":"2.0","id":"x12","method":"listActions"} xyz'],
    ['BOM in front', '\ufeff{"jsonrpc":"2.0","id":"x13","method":"listActions"}'],
    ['10000 members', JSON.stringify(Object.fromEntries(Array.from({ length: 10000 }, (_, i) => [`k${i}`, i])))],
    ['runActionState sent to the runtime', '{"jsonrpc":"2.0","method":"runActionState","params":{"requestId":"1","state":{}}}'],
    ['cancelAction as a notification', '{"jsonrpc":"2.0","method":"cancelAction","params":{"traceId":"x"}}'],
    ['runAction as a notification', '{"jsonrpc":"2.0","method":"runAction","params":{"key":"/flow/echo","input":1}}'],
  ];
  for (const [name, text] of odd) {
    test(`${name}: no crash, no hang, echo still answered`, async () => {
      m.sendRaw(text);
      await stillServes(name);
    });
  }

  test('a binary frame: no crash, echo still answered', async () => {
    m.link().send(Buffer.from([0, 1, 2, 0xff, 0xfe, 0x7b]), { binary: true });
    await stillServes('binary frame');
  });

  test('1000 garbage frames in a burst: still serving', async () => {
    for (let i = 0; i < 1000; i++) m.sendRaw(i % 2 ? `{${i}` : `[${i}]`);
    await stillServes('1000 garbage frames');
  });
});
