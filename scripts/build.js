// Compiles the CLI once, at install (package.json "postinstall", after the Prisma client is generated) or with
// `npm run build`: esbuild bundles src/cli/main.ts and the worker threads' entries into dist/ (git-ignored), so
// `cmir` starts without compiling TypeScript (docs/adr/0019). Packages stay external: native ones (onnxruntime-node,
// sharp), PGlite's WASM files and Prisma's runtime are loaded from node_modules as before. Code splitting keeps each
// command's modules in their own chunks, which main.ts imports only when that command runs (`cmir --help` loads none).
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.join(import.meta.dirname, '..');
const dist = path.join(root, 'dist');

/** Modules started as worker threads (src/pipeline/ts-worker.ts: workerScript(entry) runs dist/<entry>.js). */
export const WORKER_ENTRIES = ['pipeline/rerank/correlate-worker', 'pipeline/index/vocabulary-thread-worker', 'pipeline/index/kmeans-assign-worker', 'pipeline/threads/worker'];

const started = performance.now();
rmSync(dist, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['cli/main', ...WORKER_ENTRIES].map((e) => `src/${e}.ts`),
  outbase: 'src',
  outdir: 'dist',
  entryNames: '[dir]/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
// bin/cmir.js runs dist/ only while this stamp is newer than every file under src/ (else the sources, through tsx)
writeFileSync(path.join(dist, 'BUILT'), `${new Date().toISOString()}\n`);
console.log(`cmir: compiled the CLI into dist/ in ${Math.round(performance.now() - started)} ms`);
