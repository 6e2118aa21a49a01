#!/usr/bin/env node
// The reference runtime: the 7 demo actions of shared/README.md section 5,
// defined with the real genkit JS SDK (genkit@1.42.0, pinned in package.json).
//
// genkit starts its Reflection API V2 client when GENKIT_ENV=dev and
// GENKIT_REFLECTION_V2_SERVER is set (@genkit-ai/core src/reflection.ts:
// ReflectionServer.start() imports reflection-v2.js and connects to that URL
// instead of listening on :3100). So:
//
//   GENKIT_ENV=dev GENKIT_REFLECTION_V2_SERVER=ws://127.0.0.1:PORT node runtime.mjs
//
// or let the CLI do it: genkit flow:run echo '{"a":1}' -- node runtime.mjs
// Tests and benchmarks use it to check themselves against a real runtime.
import { genkit, GenkitError } from 'genkit';

if (!process.env.GENKIT_ENV) process.env.GENKIT_ENV = 'dev';
if (!process.env.GENKIT_REFLECTION_V2_SERVER) {
  console.error('js-runtime: GENKIT_REFLECTION_V2_SERVER is not set; nothing to connect to');
}

const ai = genkit({});

// /flow/echo: any JSON value comes back unchanged.
ai.defineFlow({ name: 'echo', description: 'Returns its input unchanged' }, async (input) => input);

// /flow/count {n}: streams {i:0}..{i:n-1} when streaming, returns n.
ai.defineFlow(
  { name: 'count', description: 'Streams {i} for i in 0..n-1, returns n' },
  async (input, { sendChunk }) => {
    const n = Number(input?.n ?? 0);
    for (let i = 0; i < n; i++) sendChunk({ i });
    return n;
  }
);

// /flow/sleep {ms}: waits ms, returns ms; an abort ends it as CANCELLED.
ai.defineFlow(
  { name: 'sleep', description: 'Waits ms milliseconds, returns ms' },
  async (input, { abortSignal }) => {
    const ms = Number(input?.ms ?? 0);
    await new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(t);
        const e = new Error('Action was cancelled');
        e.name = 'AbortError';
        reject(e);
      };
      const t = setTimeout(() => {
        abortSignal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      if (abortSignal?.aborted) onAbort();
      else abortSignal?.addEventListener('abort', onAbort, { once: true });
    });
    return ms;
  }
);

// /flow/spin: burns CPU forever and ignores the abort signal. In a single
// process runtime this blocks the whole event loop: that is the point of
// comparing it with a supervisor that can kill a worker.
ai.defineFlow({ name: 'spin', description: 'Burns CPU forever' }, async () => {
  // eslint-disable-next-line no-constant-condition
  for (let x = 0; ; x++) if (x === Number.MAX_SAFE_INTEGER) x = 0;
});

// /flow/crash: the process kills itself with SIGSEGV (the whole runtime).
ai.defineFlow({ name: 'crash', description: 'Kills its own process with SIGSEGV' }, async () => {
  process.kill(process.pid, 'SIGSEGV');
  await new Promise(() => {});
});

// /flow/bidiEcho: streams back every input chunk, returns how many.
ai.defineFlow(
  { name: 'bidiEcho', description: 'Streams back each input chunk, returns the count' },
  async (_input, { sendChunk, inputStream }) => {
    let n = 0;
    for await (const chunk of inputStream) {
      sendChunk(chunk);
      n++;
    }
    return n;
  }
);

// /flow/fail {status, message}: fails with that status name and message.
ai.defineFlow(
  { name: 'fail', description: 'Fails with the given Genkit status name and message' },
  async (input) => {
    throw new GenkitError({
      status: input?.status ?? 'INTERNAL',
      message: input?.message ?? 'failed',
    });
  }
);

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
