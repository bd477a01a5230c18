import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { FileStore, sha256Hex } from '../../src/db/file-store.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cmir-store-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

test('stores by sha256, detects the same content, removes', async () => {
  const store = new FileStore(root);
  const data = Buffer.from('some image bytes');
  const first = await store.put(data);
  expect(first).toEqual({ sha256: sha256Hex(data), created: true });
  expect(store.pathOf(first.sha256)).toBe(path.join(root, first.sha256.slice(0, 2), first.sha256));
  expect(await readFile(store.pathOf(first.sha256), 'utf8')).toBe('some image bytes');
  expect(await store.put(Buffer.from('some image bytes'))).toEqual({ sha256: first.sha256, created: false });
  await store.remove(first.sha256);
  expect(await store.has(first.sha256)).toBe(false);
  // no temporary files are left behind
  expect(await readdir(path.join(root, first.sha256.slice(0, 2)))).toEqual([]);
});

test('sha256Hex matches the known digest of "abc"', () => {
  expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('refuses keys that are not sha256 (no path traversal)', () => {
  expect(() => new FileStore(root).pathOf('../../etc/passwd')).toThrow(/not a sha256/);
});

test('sweep removes unreferenced and temporary files older than the cut-off, and nothing else (issue 19)', async () => {
  const store = new FileStore(root);
  const kept = await store.put(Buffer.from('referenced'));
  const orphan = await store.put(Buffer.from('stored, its row never committed'));
  const young = await store.put(Buffer.from('stored a moment ago by another process'));
  const dir = path.dirname(store.pathOf(orphan.sha256));
  const tmp = `${store.pathOf(orphan.sha256)}.0123456789ab.tmp`;
  await writeFile(tmp, 'half a fi');
  const foreign = path.join(root, 'README');
  await writeFile(foreign, 'not the store\'s');
  const old = new Date(Date.now() - 3_600_000);
  for (const f of [store.pathOf(kept.sha256), store.pathOf(orphan.sha256), tmp, foreign]) await utimes(f, old, old);
  const removed = await store.sweep((sha) => sha === kept.sha256, new Date(Date.now() - 60_000));
  expect(removed).toEqual([orphan.sha256, path.basename(tmp)].sort());
  expect(await store.has(kept.sha256)).toBe(true);
  expect(await store.has(young.sha256)).toBe(true);
  expect(await store.has(orphan.sha256)).toBe(false);
  expect(await readdir(dir)).not.toContain(path.basename(tmp));
  expect(await readFile(foreign, 'utf8')).toBe("not the store's");
});

test('storing content that is already there refreshes its time, so a sweep spares it', async () => {
  const store = new FileStore(root);
  const data = Buffer.from('an orphan, stored again');
  const { sha256 } = await store.put(data);
  const old = new Date(Date.now() - 3_600_000);
  await utimes(store.pathOf(sha256), old, old);
  expect(await store.put(data)).toEqual({ sha256, created: false });
  expect((await stat(store.pathOf(sha256))).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  expect(await store.sweep(() => false, new Date(Date.now() - 60_000))).toEqual([]);
});
