#!/usr/bin/env node
// cmir's command line. It runs dist/cli/main.js, compiled once by `npm install` (scripts/build.js, docs/adr/0019),
// so no TypeScript is compiled at start. It falls back to the TypeScript sources through tsx's loader when dist/ is
// missing or older than a file under src/ (an edit or a checkout since the last `npm run build`), or when
// CMIR_FROM_SOURCES=1; the check stats src/ (a few ms).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.join(import.meta.dirname, '..');

function compiledIsCurrent() {
  let built;
  try {
    built = statSync(path.join(root, 'dist', 'BUILT')).mtimeMs;
  } catch {
    return false;
  }
  const src = path.join(root, 'src');
  for (const e of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && statSync(path.join(e.parentPath, e.name)).mtimeMs > built) return false;
  }
  return true;
}

if (process.env.CMIR_FROM_SOURCES !== '1' && compiledIsCurrent()) {
  await import('../dist/cli/main.js');
} else {
  if (process.env.CMIR_FROM_SOURCES !== '1' && process.stderr.isTTY) {
    console.error('cmir: dist/ is missing or older than src/: running the sources (slower start); `npm run build` compiles them');
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
