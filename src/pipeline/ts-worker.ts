/**
 * Starting a worker thread on one of cmir's own modules, from the sources (tsx, vitest) or from the compiled `dist/`
 * (the CLI, docs/adr/0019), whichever this module itself runs from.
 *
 * From the sources: a Worker does not inherit the tsx hooks registered in its parent, and Node 20 ignores
 * `execArgv: ['--import', 'tsx']` for workers (both checked), so the worker is started from a small eval'd script that
 * registers tsx's ESM hooks (`tsx/esm/api`, the same call bin/cmir.js makes) and then imports the entry. This works
 * under `tsx`, `node bin/cmir.js` and vitest alike. Compiled, the entry is dist/<entry>.js, a plain ES module: the
 * script only imports it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../paths.ts';

/** Whether this module runs compiled (bundled into dist/, a .js file) rather than from its TypeScript source. */
const COMPILED = import.meta.url.endsWith('.js');

/**
 * The compiled module of a worker entry (dist/<entry>.js) when cmir runs compiled, else null (then the caller starts
 * the entry from its sources). For pools that take a module file rather than a script (piscina: pipeline/threads).
 */
export function compiledWorker(entry: string): string | null {
  return COMPILED ? pathToFileURL(path.join(PROJECT_ROOT, 'dist', `${entry}.js`)).href : null;
}

/**
 * The eval'd bootstrap script for `new Worker(script, { eval: true, ... })`.
 * @param entry the worker's module under src/, without extension, e.g. `pipeline/rerank/correlate-worker`; the build
 *   (scripts/build.js) compiles each such entry to dist/<entry>.js
 * @param onFailure CommonJS statements run if the hooks or the entry cannot be loaded (default: rethrow, which ends
 *   the worker with an 'error' event in its parent)
 */
export function workerScript(entry: string, onFailure = 'throw e;'): string {
  if (COMPILED) {
    const url = pathToFileURL(path.join(PROJECT_ROOT, 'dist', `${entry}.js`)).href;
    return `const { workerData } = require('node:worker_threads');
import(${JSON.stringify(url)}).catch((e) => {
  ${onFailure}
});`;
  }
  const req = createRequire(import.meta.url);
  // the package's "import" condition of tsx/esm/api (require.resolve returns the "require" one, index.cjs)
  const api = pathToFileURL(req.resolve('tsx/esm/api').replace(/index\.cjs$/, 'index.mjs')).href;
  const url = pathToFileURL(path.join(PROJECT_ROOT, 'src', `${entry}.ts`)).href;
  return `const { workerData } = require('node:worker_threads');
import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); }).catch((e) => {
  ${onFailure}
});`;
}
