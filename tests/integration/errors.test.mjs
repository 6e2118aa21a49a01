// Every error shape genkit-supervisor promises: unknown action / method,
// bad params, listValues types, cancel of unknown traces, action failures
// with their Genkit status, JSON-RPC parse and request errors.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startManager, closeAll } from './manager.mjs';
import { assertRunOk, assertActionError, assertRpcError } from './expect.mjs';

describe('errors', () => {
  let m;
  const closers = [];
  before(async () => {
    m = await startManager({ args: ['--workers', '2'] }, closers);
  });
  after(() => closeAll(closers));

  /** Echo still works, and nothing but its runActionState + reply arrived since `since`. */
  async function quietThenEcho(since, what) {
    const v = { after: what };
    assert.deepEqual(await m.echo(v), v);
    const extra = m.messages.slice(since).filter((x) => !(x.method === 'runActionState' || x.result));
    assert.deepEqual(extra, [], `no reply to ${what}`);
    assert.equal(m.messages.length - since, 2, `only the echo's two messages after ${what}`);
  }

  test('unknown action: -32602 "Action not found: /flow/nope", NOT_FOUND, empty details', async () => {
    const r = await m.request('runAction', { key: '/flow/nope', input: 1 });
    assert.deepEqual(r, {
      jsonrpc: '2.0',
      id: r.id,
      error: {
        code: -32602,
        message: 'Action not found: /flow/nope',
        data: { code: 5, message: 'Action not found: /flow/nope', details: {} },
      },
    });
    assert.equal(m.run(r.id).states.length, 0, 'no runActionState for a run that never started');
  });

  const badParams = [
    ['runAction key is a number', 'runAction', { key: 5 }, /'?key'?/],
    ['runAction key missing', 'runAction', { input: 1 }, /'?key'?/],
    ['runAction params is an array', 'runAction', ['/flow/echo'], /params|object/],
    ['runAction params is a string', 'runAction', '/flow/echo', /params|object/],
    ['runAction stream is a string', 'runAction', { key: '/flow/echo', stream: 'yes' }, /'?stream'?/],
    ['runAction streamInput is a number', 'runAction', { key: '/flow/bidiEcho', streamInput: 1 }, /streamInput/],
    ['runAction context is a string', 'runAction', { key: '/flow/echo', context: 'c' }, /context/],
    ['listValues type is a number', 'listValues', { type: 5 }, /'?type'?/],
    ['listValues without params', 'listValues', undefined, /params|object|type/],
    ['cancelAction traceId is a number', 'cancelAction', { traceId: 5 }, /traceId/],
    ['cancelAction params is null', 'cancelAction', null, /params|object|traceId/],
  ];
  for (const [name, method, params, re] of badParams) {
    test(`bad params: ${name} → -32602, INVALID_ARGUMENT, names the param`, async () => {
      const r = await m.request(method, params);
      assertRpcError(r, r.id, -32602, 3, re);
    });
  }

  test('listValues with another type: -32602, INVALID_ARGUMENT', async () => {
    for (const type of ['tools', 'defaultmodel', '']) {
      const r = await m.request('listValues', { type });
      assertRpcError(r, r.id, -32602, 3, /not supported/);
    }
  });

  test('unknown method with an id: -32601 "Method not found: X", UNIMPLEMENTED', async () => {
    const r = await m.request('frobnicate', { a: 1 });
    assertRpcError(r, r.id, -32601, 12, 'Method not found: frobnicate');
  });

  test('unknown notification: ignored, no reply, link fine', async () => {
    const since = m.messages.length;
    m.notify('frobnicate', { a: 1 });
    m.notify('$/progress');
    await quietThenEcho(since, 'unknown notifications');
  });

  test('configure notification: no reply, link fine', async () => {
    const since = m.messages.length;
    m.notify('configure', { telemetryServerUrl: 'http://127.0.0.1:9' });
    m.notify('configure', {});
    await quietThenEcho(since, 'configure');
  });

  test('input chunk / end for an unknown request: ignored', async () => {
    const since = m.messages.length;
    m.notify('sendInputStreamChunk', { requestId: 'nope', chunk: 1 });
    m.notify('endInputStream', { requestId: 'nope' });
    await quietThenEcho(since, 'stray input stream notifications');
  });

  test('a response to no request of ours: ignored', async () => {
    const since = m.messages.length;
    m.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: '999', result: { x: 1 } }));
    m.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: '998', error: { code: 1, message: 'x' } }));
    await quietThenEcho(since, 'stray responses');
  });

  test('cancelAction of an unknown trace: -32602 "Action not found or already completed", NOT_FOUND', async () => {
    const r = await m.request('cancelAction', { traceId: '0'.repeat(32) });
    assertRpcError(r, r.id, -32602, 5, 'Action not found or already completed');
  });

  test('cancelAction of a finished run: same NOT_FOUND error', async () => {
    const { reply, id } = await m.runAction('/flow/echo', 1);
    const traceId = assertRunOk(reply, id, 1);
    const r = await m.request('cancelAction', { traceId });
    assertRpcError(r, r.id, -32602, 5, 'Action not found or already completed');
  });

  const statuses = {
    CANCELLED: 1,
    UNKNOWN: 2,
    INVALID_ARGUMENT: 3,
    DEADLINE_EXCEEDED: 4,
    NOT_FOUND: 5,
    PERMISSION_DENIED: 7,
    RESOURCE_EXHAUSTED: 8,
    FAILED_PRECONDITION: 9,
    UNIMPLEMENTED: 12,
    INTERNAL: 13,
    UNAVAILABLE: 14,
  };
  for (const [name, code] of Object.entries(statuses)) {
    test(`/flow/fail ${name}: -32000 with status ${code}, the message, the run's traceId`, async () => {
      const message = `failing with ${name} – ünïcödé`;
      const { reply, run, id } = await m.runAction('/flow/fail', { status: name, message });
      const details = assertActionError(reply, id, code, message);
      assert.deepEqual(run.states, [{ traceId: details.traceId }]);
      assert.deepEqual(run.events.map((e) => e.type), ['state', 'reply']);
    });
  }

  test('invalid JSON: -32700 Parse error with id null, link stays up', async () => {
    for (const text of ['{bad', '{"jsonrpc":"2.0","id":"1","method":"listActions"', '', 'nul', '{"a":1}}']) {
      const since = m.orphans.length;
      m.sendRaw(text);
      await m.waitFor(() => m.orphans.length > since, 5000, `parse error for ${JSON.stringify(text)}`);
      const r = m.orphans[since];
      assertRpcError(r, null, -32700, 3, /^Parse error/);
      assert.deepEqual(await m.echo(text), text);
    }
  });

  test('valid JSON that is no request: -32600 with id null', async () => {
    for (const text of ['42', '[]', '"str"', 'null', 'true', '[{"jsonrpc":"2.0","id":"1","method":"listActions"}]']) {
      const since = m.orphans.length;
      m.sendRaw(text);
      await m.waitFor(() => m.orphans.length > since, 5000, `invalid request for ${text}`);
      const r = m.orphans[since];
      assertRpcError(r, null, -32600, 3, /^Invalid Request/);
      assert.deepEqual(await m.echo(text), text);
    }
  });
});
