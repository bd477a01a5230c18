#!/usr/bin/env node
/**
 * Bundles the review dashboard (web/app: React 19 and OpenSeadragon from npm, TypeScript) into web/app/dist with
 * esbuild, so the server serves it at / without a CDN (docs/adr/0022). Run by `npm install` (postinstall) and
 * `npm run build:app`; a few seconds.
 */
import { cp, copyFile, mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'web', 'app');
const out = path.join(src, 'dist');
const started = Date.now();

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
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
await copyFile(path.join(src, 'index.html'), path.join(out, 'index.html'));
await copyFile(path.join(src, 'app.css'), path.join(out, 'app.css'));
// OpenSeadragon's navigation button images (its prefixUrl), from the package
const osd = path.dirname(createRequire(import.meta.url).resolve('openseadragon'));
await cp(path.join(osd, 'images'), path.join(out, 'osd'), { recursive: true });
console.log(`dashboard built into ${path.relative(root, out)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
