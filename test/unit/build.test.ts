import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..', '..');

/**
 * Every module started as a worker (`workerScript('...')`, or `compiledWorker('...')` for the piscina pool) is an entry
 * of the build, or compiled it would not exist.
 */
test('scripts/build.js compiles every worker entry the sources start', async () => {
  const started = new Set<string>();
  for (const e of await readdir(path.join(ROOT, 'src'), { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts')) continue;
    for (const m of (await readFile(path.join(e.parentPath, e.name), 'utf8')).matchAll(/(?:workerScript|compiledWorker)\(\s*'([^']+)'/g)) started.add(m[1]!);
  }
  const build = await readFile(path.join(ROOT, 'scripts', 'build.js'), 'utf8');
  const listed = JSON.parse(/WORKER_ENTRIES = (\[[^\]]*\])/.exec(build)![1]!.replace(/'/g, '"')) as string[];
  expect(started.size).toBe(4);
  expect([...started].sort()).toEqual([...listed].sort());
});
