import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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
