// A deliberately broken Reflection V2 runtime for genkit-loadtest's own
// tests: runAction number k (0-based) misbehaves by k % 6:
//   0 correct, 1 telemetry traceId differs, 2 wrong result, 3 numeric id,
//   4 the reply in a binary frame, 5 a 4 KiB result (over --max-message).
// `good` as argv[2] answers everything correctly.  Needs `ws`: LT_JS_DIR
// names a directory whose node_modules has it.
import { createRequire } from 'module';
import { randomBytes } from 'crypto';

const require = createRequire(process.env.LT_JS_DIR + '/package.json');
const WebSocket = require('ws');
const good = process.argv[2] === 'good';
const ws = new WebSocket(process.env.GENKIT_REFLECTION_V2_SERVER);
const send = (m, opts) => ws.send(typeof m === 'string' ? m : JSON.stringify(m), opts);
let runs = 0;

ws.on('open', () =>
  send({ jsonrpc: '2.0', id: 'r1', method: 'register', params: { id: 'bad', pid: process.pid } }));
ws.on('close', () => process.exit(0));
ws.on('message', (data) => {
  const m = JSON.parse(data.toString());
  if (m.method === 'listActions') {
    send({ jsonrpc: '2.0', id: m.id,
           result: { actions: { '/flow/echo': { key: '/flow/echo', name: 'echo' } } } });
    return;
  }
  if (m.method !== 'runAction') return;
  const traceId = randomBytes(16).toString('hex');
  send({ jsonrpc: '2.0', method: 'runActionState',
         params: { requestId: m.id, state: { traceId } } });
  const reply = { jsonrpc: '2.0', id: m.id,
                  result: { result: m.params.input, telemetry: { traceId } } };
  switch (good ? 0 : runs++ % 6) {
    case 1: reply.result.telemetry.traceId = randomBytes(16).toString('hex'); break;
    case 2: reply.result.result = { wrong: true }; break;
    case 3: reply.id = Number(m.id); break;
    case 4: send(Buffer.from(JSON.stringify(reply)), { binary: true }); return;
    case 5: reply.result.result = 'x'.repeat(4096); break;
  }
  send(reply);
});
