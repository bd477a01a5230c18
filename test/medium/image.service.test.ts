import { mkdir, mkdtemp, readdir, realpath as realpathOf, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FileStore } from '../../src/db/file-store.ts';
import { ImageRepository } from '../../src/db/image.repository.ts';
import { ImageService } from '../../src/services/image.service.ts';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { CAN_MKFIFO, makeFifo, makeSocket } from '../helpers/hostile-cases.ts';
import { corrupt, makeImage } from '../helpers/images.ts';
import { expandPaths } from '../../src/cli/commands/ingest.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ maxPixels: 1_000_000 });
});
afterAll(() => app?.close());

async function storedFiles(): Promise<string[]> {
  const root = path.join(app.home, 'files');
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

async function counts() {
  const p = app.db.prisma;
  return { images: await p.image.count(), slides: await p.slide.count(), modalities: await p.modality.count(), files: (await storedFiles()).length };
}

describe(`ImageService on ${TEST_BACKEND}`, () => {
  test('ingest stores the file and a row with its properties; slide and modality are created on first use', async () => {
    const data = await makeImage({ width: 40, height: 30, bitDepth: 16, format: 'tiff', seed: 1 });
    const image = await app.services.images.ingest({ data, fileName: '/x/core_A1.tif', modality: 'SHG', slide: 'TMA-1' });
    expect(image).toMatchObject({ name: 'core_A1', width: 40, height: 30, channels: 1, bitDepth: 16, format: 'tiff', byteSize: data.length });
    expect(await storedFiles()).toEqual([image.sha256]);
    const modality = await app.services.modalities.getByName('SHG');
    expect(modality).toMatchObject({ normalization: 'log1p', channels: 1 });
    expect(image.modalityId).toBe(modality.id);
    const slide = await app.repos.slides.findByName('TMA-1');
    expect(image.slideId).toBe(slide!.id);
  });

  test('the same bytes again are DUPLICATE_IMAGE naming the stored image, and nothing is added', async () => {
    const data = await makeImage({ seed: 2 });
    const first = await app.services.images.ingest({ data, fileName: 'a.png', modality: 'BF' });
    const before = await counts();
    await expect(app.services.images.ingest({ data, fileName: 'b.png', modality: 'BF' })).rejects.toMatchObject({
      code: 'DUPLICATE_IMAGE',
      existingId: first.id,
    });
    expect(await counts()).toEqual(before);
  });

  test.each([
    ['empty', corrupt.empty, 'UNSUPPORTED_IMAGE'],
    ['garbage', corrupt.garbage, 'UNSUPPORTED_IMAGE'],
    ['truncated', corrupt.truncated, 'UNSUPPORTED_IMAGE'],
    ['too many pixels', () => makeImage({ width: 1001, height: 1000 }), 'PAYLOAD_TOO_LARGE'],
  ])('a %s file is rejected with %s and leaves no row, slide or file behind', async (_, make, code) => {
    const before = await counts();
    await expect(
      app.services.images.ingest({ data: await make(), fileName: 'bad.tif', modality: 'NEWMOD', slide: 'never-created' }),
    ).rejects.toMatchObject({ code });
    expect(await counts()).toEqual(before);
    expect(await app.repos.slides.findByName('never-created')).toBeNull();
  });

  test.each([
    [{ modality: '' }, /modality/],
    [{ modality: 'has space' }, /modality/],
    [{ modality: 'BF', page: -1 }, /page/],
    [{ modality: 'BF', slide: '   ' }, /slide/],
  ])('bad parameters %o are BAD_USER_INPUT', async (input, message) => {
    const data = await makeImage({ seed: 99 });
    await expect(app.services.images.ingest({ data, fileName: 'x.png', ...input })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringMatching(message),
    });
  });

  test('a failure inside the transaction rolls back the rows and removes the file it wrote', async () => {
    const failing = new (class extends ImageRepository {
      override create(): never {
        throw new Error('disk full (simulated)');
      }
    })(app.db.prisma);
    const service = new ImageService(
      app.config,
      app.db.prisma,
      failing,
      app.repos.slides,
      app.repos.modalities,
      app.services.modalities,
      new FileStore(path.join(app.home, 'files')),
    );
    const before = await counts();
    await expect(
      service.ingest({ data: await makeImage({ seed: 3 }), fileName: 'y.png', modality: 'ROLLBACK', slide: 'rolled-back' }),
    ).rejects.toThrow('disk full');
    expect(await counts()).toEqual(before);
    expect(await app.repos.modalities.findByName('ROLLBACK')).toBeNull();
  });

  test('list pages by cursor, filters by modality, slide and name, and counts', async () => {
    for (let seed = 10; seed < 15; seed++) {
      await app.services.images.ingest({ data: await makeImage({ seed }), fileName: `p${seed}.png`, modality: 'PAGE', slide: seed < 12 ? 'S-page' : null });
    }
    const first = await app.services.images.list({ modality: 'PAGE' }, { first: 2 });
    expect(first.totalCount).toBe(5);
    expect(first.edges.map((e) => e.node.name)).toEqual(['p10', 'p11']);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const rest = await app.services.images.list({ modality: 'PAGE' }, { first: 10, after: first.pageInfo.endCursor });
    expect(rest.edges.map((e) => e.node.name)).toEqual(['p12', 'p13', 'p14']);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const slide = await app.repos.slides.findByName('S-page');
    expect((await app.services.images.list({ slideId: slide!.id }, {})).totalCount).toBe(2);
    expect((await app.services.images.list({ modality: 'NOPE' }, {})).totalCount).toBe(0);
    // by name: a case-insensitive substring, with the other filters; LIKE's wildcards match only themselves
    const names = async (filter: Parameters<typeof app.services.images.list>[0]) => (await app.services.images.list(filter, {})).edges.map((e) => e.node.name);
    expect(await names({ modality: 'PAGE', name: 'P1' })).toEqual(['p10', 'p11', 'p12', 'p13', 'p14']);
    expect(await names({ name: 'p13' })).toEqual(['p13']);
    expect(await names({ name: '1', slideId: slide!.id })).toEqual(['p10', 'p11']);
    expect(await names({ modality: 'PAGE', name: '%' })).toEqual([]);
    expect(await names({ modality: 'PAGE', name: 'p_3' })).toEqual([]);
    await expect(app.services.images.list({}, { first: 10_000 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  test('delete removes the row and the stored file; a second delete is NOT_FOUND', async () => {
    const image = await app.services.images.ingest({ data: await makeImage({ seed: 20 }), fileName: 'd.png', modality: 'DEL' });
    expect(await storedFiles()).toContain(image.sha256);
    await app.services.images.delete(image.id);
    expect(await storedFiles()).not.toContain(image.sha256);
    await expect(app.services.images.delete(image.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('thumbnails are PNGs bounded by the asked size; a bad size is BAD_USER_INPUT', async () => {
    const image = await app.services.images.ingest({
      data: await makeImage({ width: 200, height: 100, seed: 30, bitDepth: 16, format: 'tiff' }),
      fileName: 't.tif',
      modality: 'THUMB',
    });
    const sharp = (await import('sharp')).default;
    const meta = await sharp(await app.services.images.thumbnail(image.id, 50)).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 50, height: 25 });
    await expect(app.services.images.thumbnail(image.id, 5000)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  test('server-side paths are refused unless inside CMIR_INGEST_ROOTS', async () => {
    await expect(app.services.images.readServerFile('/etc/passwd')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  test('links are resolved before the CMIR_INGEST_ROOTS check: one to a file outside is refused, one to a file inside is read', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'cmir-roots-'));
    try {
      const root = path.join(tmp, 'root');
      await mkdir(root);
      await writeFile(path.join(tmp, 'outside.png'), await makeImage({ seed: 50 }));
      await writeFile(path.join(root, 'inside.png'), await makeImage({ seed: 51 }));
      await symlink(path.join(tmp, 'outside.png'), path.join(root, 'to-outside.png'));
      await symlink(path.join(root, 'inside.png'), path.join(root, 'to-inside.png'));
      await symlink(tmp, path.join(root, 'up')); // a linked folder: root/up/outside.png is outside too
      await symlink(root, path.join(tmp, 'root-link')); // a root configured through a link
      const rooted = (roots: string[]) =>
        new ImageService({ ...app.config, ingestRoots: roots }, app.db.prisma, app.repos.images, app.repos.slides, app.repos.modalities, app.services.modalities, new FileStore(path.join(app.home, 'files')));
      // what the ingestImage(path:) resolver does: read the server file, then ingest it
      const ingestPath = async (service: ImageService, p: string) =>
        service.ingest({ data: await service.readServerFile(p), fileName: p, modality: 'ROOTS' });
      const service = rooted([root]);

      const before = await counts();
      for (const p of [path.join(root, 'to-outside.png'), path.join(root, 'up', 'outside.png'), path.join(root, 'up', 'root', 'to-outside.png')]) {
        await expect(ingestPath(service, p)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('outside the folders in CMIR_INGEST_ROOTS') });
      }
      await expect(service.assertServerPath(path.join(root, 'up'), true)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(await counts()).toEqual(before);

      expect(await service.assertServerPath(path.join(root, 'to-inside.png'))).toBe(path.join(await realpathOf(root), 'inside.png'));
      const image = await ingestPath(service, path.join(root, 'to-inside.png'));
      expect(image).toMatchObject({ name: 'to-inside', width: 64, height: 48 });
      expect(await storedFiles()).toContain(image.sha256);
      // a root given through a link still holds its files, and still not what its links point outside to
      await expect(rooted([path.join(tmp, 'root-link')]).readServerFile(path.join(root, 'inside.png'))).resolves.toBeInstanceOf(Buffer);
      await expect(rooted([path.join(tmp, 'root-link')]).readServerFile(path.join(tmp, 'root-link', 'to-outside.png'))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      // a missing file inside a root is still a read error, not a crash
      await expect(service.readServerFile(path.join(root, 'missing.png'))).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('ENOENT') });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  // reading a FIFO blocks until something writes to it: the server (and the CLI) must refuse it without opening it
  test.skipIf(!CAN_MKFIFO)('a FIFO or a socket inside CMIR_INGEST_ROOTS is refused at once, never opened (issue 19)', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'cmir-fifo-'));
    const root = await realpathOf(tmp);
    const socket = await makeSocket(path.join(root, 'socket.png'));
    try {
      expect(makeFifo(path.join(root, 'pipe.png'))).toBe(true);
      await symlink(path.join(root, 'pipe.png'), path.join(root, 'link-to-pipe.png'));
      await writeFile(path.join(root, 'real.png'), await makeImage({ seed: 52 }));
      const service = new ImageService({ ...app.config, ingestRoots: [root] }, app.db.prisma, app.repos.images, app.repos.slides, app.repos.modalities, app.services.modalities, new FileStore(path.join(app.home, 'files')));
      const before = await counts();
      const started = performance.now();
      for (const name of ['pipe.png', 'link-to-pipe.png', 'socket.png']) {
        const p = path.join(root, name);
        await expect(service.readServerFile(p)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/not a regular file/) });
        // the GraphQL resolver's way (assertServerPath, then ingestFile) and the CLI's (ingestFile)
        await expect(service.ingestFile(await service.assertServerPath(p), { modality: 'FIFO' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
        await expect(service.ingestFile(p, { modality: 'FIFO' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      }
      await expect(service.ingestFile(root, { modality: 'FIFO' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('a folder') });
      expect(performance.now() - started).toBeLessThan(5000);
      expect(await counts()).toEqual(before);
      // the CLI's folder walk lists the FIFO and the socket (so each is reported as failed) and does not follow the link
      expect(await expandPaths([root])).toEqual(['pipe.png', 'real.png', 'socket.png'].map((n) => path.join(root, n)));
    } finally {
      await new Promise((resolve) => socket.close(resolve));
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
