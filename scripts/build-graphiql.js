#!/usr/bin/env node
/**
 * Bundles the GraphQL sandbox (web/graphiql: GraphiQL 5 from npm, React, Monaco and its three workers) into
 * web/graphiql/dist with esbuild, so the server serves it without a CDN (docs/adr/0018). Run by `npm install`
 * (postinstall) and `npm run build:graphiql`; ~10 s on 2 cores.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'web', 'graphiql');
const out = path.join(src, 'dist');
const started = Date.now();
const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // React and Monaco read process.env.NODE_ENV to drop their development checks.
  define: { 'process.env.NODE_ENV': '"production"' },
  absWorkingDir: root,
  // Monaco's codicon font (.ttf) and any other asset its CSS names: copied beside the bundle, never inlined from a URL
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file', '.png': 'file' },
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await Promise.all([
  // The page: an ES module (top-level await), with its CSS collected into graphiql.css.
  build({ ...common, entryPoints: { graphiql: path.join(src, 'main.js') }, format: 'esm', outdir: out, target: 'es2022' }),
  // Monaco's workers as classic scripts, the form `new Worker(url)` loads in every browser.
  build({
    ...common,
    entryPoints: {
      'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
      'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
      'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
    },
    format: 'iife',
    outdir: out,
    target: 'es2020',
  }),
]);
await copyFile(path.join(src, 'index.html'), path.join(out, 'index.html'));
console.log(`GraphiQL sandbox built into ${path.relative(root, out)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
