#!/usr/bin/env node
/**
 * Bundles the review dashboard (web/app: React 19 and OpenSeadragon from npm, TypeScript) into web/app/dist with
 * esbuild, so the server serves it at / without a CDN (docs/adr/0022). Run by `npm install` (postinstall) and
 * `npm run build:app`; a few seconds.
 */
import { cp, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'web', 'app');
const out = path.join(src, 'dist');
const started = Date.now();

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  metafile: true,
  entryPoints: { app: path.join(src, 'src', 'main.tsx') },
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  format: 'esm',
  // the viewer page (OpenSeadragon) is a chunk of its own, imported when first opened
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  target: 'es2022',
  jsx: 'automatic',
  // React reads process.env.NODE_ENV to drop its development checks.
  define: { 'process.env.NODE_ENV': '"production"' },
  absWorkingDir: root,
  outdir: out,
});
// app/first.js: the grid's first query, sent before app.js runs (web/app/src/first-page.ts); a classic async script of
// its own, with no chunk to wait for
await build({
  entryPoints: { first: path.join(src, 'src', 'first.ts') },
  bundle: true,
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  format: 'iife',
  target: 'es2022',
  absWorkingDir: root,
  outdir: out,
});
// The chunks app.js imports statically (code it shares with the viewer's chunk) are named in the page as
// modulepreload links, so the browser fetches them beside app.js instead of after parsing it (bench/results/ui.md).
const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === 'web/app/src/main.tsx');
const preloads = entry[1].imports
  .filter((i) => i.kind === 'import-statement')
  .map((i) => `    <link rel="modulepreload" href="app/${path.relative(out, path.join(root, i.path)).split(path.sep).join('/')}" />\n`)
  .join('');
const html = await readFile(path.join(src, 'index.html'), 'utf8');
await writeFile(path.join(out, 'index.html'), html.replace('    <script type="module"', `${preloads}    <script type="module"`));
await copyFile(path.join(src, 'app.css'), path.join(out, 'app.css'));
// OpenSeadragon's navigation button images (its prefixUrl), from the package
const osd = path.dirname(createRequire(import.meta.url).resolve('openseadragon'));
await cp(path.join(osd, 'images'), path.join(out, 'osd'), { recursive: true });
console.log(`dashboard built into ${path.relative(root, out)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
