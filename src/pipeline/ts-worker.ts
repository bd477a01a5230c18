/**
 * Starting a worker thread whose entry is a TypeScript file. A Worker does not inherit the tsx hooks registered in its
 * parent, and Node 20 ignores `execArgv: ['--import', 'tsx']` for workers (both checked), so the worker is started
 * from a small eval'd script that registers tsx's ESM hooks (`tsx/esm/api`, the same call bin/cmir.js makes) and then
 * imports the entry. This works under `tsx`, `node bin/cmir.js` and vitest alike.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * The eval'd bootstrap script for `new Worker(script, { eval: true, ... })`.
 * @param entry the worker's TypeScript module
 * @param onFailure CommonJS statements run if the hooks or the entry cannot be loaded (default: rethrow, which ends
 *   the worker with an 'error' event in its parent)
 */
export function tsWorkerScript(entry: URL, onFailure = 'throw e;'): string {
  const req = createRequire(import.meta.url);
  // the package's "import" condition of tsx/esm/api (require.resolve returns the "require" one, index.cjs)
  const api = pathToFileURL(req.resolve('tsx/esm/api').replace(/index\.cjs$/, 'index.mjs')).href;
  return `const { workerData } = require('node:worker_threads');
import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); }).catch((e) => {
  ${onFailure}
});`;
}
