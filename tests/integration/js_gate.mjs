// Runs a protocol test file against the genkit JS reference runtime
// (tools/bench/js-runtime), only when GK_TEST_JS_RUNTIME=1: it needs that
// directory's node_modules (npm ci there) and is not part of CI by default.
// Exit 77 = meson "skipped".
//   GK_TEST_JS_RUNTIME=1 meson test -C build integration-js-runtime
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { JS_RUNTIME_DIR } from './manager.mjs';

if (process.env.GK_TEST_JS_RUNTIME !== '1') {
  console.log('skipped: set GK_TEST_JS_RUNTIME=1 to run the protocol tests against the genkit JS runtime');
  process.exit(77);
}
if (!existsSync(path.join(JS_RUNTIME_DIR, 'node_modules', 'genkit'))) {
  console.error(`${JS_RUNTIME_DIR}/node_modules missing: run npm ci there`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, GK_RUNTIME: 'js' },
});
process.exit(r.status ?? 1);
