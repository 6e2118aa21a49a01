// Assertions on the exact reply shapes genkit-supervisor promises.
import assert from 'node:assert/strict';
import { TRACE_ID_RE } from './manager.mjs';

/** A successful runAction reply: {result:{result, telemetry:{traceId}}}; returns traceId. */
export function assertRunOk(reply, id, value) {
  assert.equal(reply.jsonrpc, '2.0');
  assert.equal(reply.id, id, 'reply id is the request id, as a string');
  assert.equal(reply.error, undefined, `unexpected error: ${JSON.stringify(reply.error)}`);
  assert.deepEqual(Object.keys(reply.result).sort(), ['result', 'telemetry']);
  assert.deepStrictEqual(reply.result.result, value);
  assert.deepEqual(Object.keys(reply.result.telemetry), ['traceId']);
  assert.match(reply.result.telemetry.traceId, TRACE_ID_RE);
  return reply.result.telemetry.traceId;
}

/**
 * run.events starts with exactly one runActionState carrying the reply's
 * traceId, then the chunks, then the reply.
 */
export function assertRunEvents(run, traceId, chunks) {
  const types = run.events.map((e) => e.type);
  assert.deepEqual(types, ['state', ...chunks.map(() => 'chunk'), 'reply']);
  assert.deepEqual(run.states, [{ traceId }]);
  assert.deepStrictEqual(run.chunks, chunks);
  for (const e of run.events.filter((x) => x.type !== 'reply')) {
    assert.equal(e.msg.jsonrpc, '2.0');
    assert.equal(e.msg.id, undefined, 'notifications carry no id');
  }
}

/** An action failure: -32000 with a Genkit Status in data; returns data.details. */
export function assertActionError(reply, id, status, message) {
  assert.equal(reply.jsonrpc, '2.0');
  assert.equal(reply.id, id);
  assert.equal(reply.result, undefined);
  const e = reply.error;
  assert.ok(e, 'an error reply');
  assert.equal(e.code, -32000);
  assert.equal(e.data.code, status, `status ${e.data.code} (${e.message}), want ${status}`);
  if (message instanceof RegExp) assert.match(e.message, message);
  else assert.equal(e.message, message);
  assert.equal(e.data.message, e.message);
  assert.equal(typeof e.data.details, 'object');
  assert.match(e.data.details.traceId, TRACE_ID_RE);
  return e.data.details;
}

/** A JSON-RPC error reply with exactly {code, message, data:{code, message, details}}. */
export function assertRpcError(reply, id, code, status, message) {
  assert.equal(reply.jsonrpc, '2.0');
  assert.equal(reply.id, id);
  assert.equal(reply.result, undefined);
  const e = reply.error;
  assert.ok(e, `an error reply, got ${JSON.stringify(reply)}`);
  assert.equal(e.code, code, `error code ${e.code} (${e.message}), want ${code}`);
  if (message instanceof RegExp) assert.match(e.message, message);
  else assert.equal(e.message, message);
  assert.equal(e.data?.code, status, `data.code of ${JSON.stringify(e)}`);
  assert.equal(e.data.message, e.message);
  assert.equal(typeof e.data.details, 'object');
  return e;
}
