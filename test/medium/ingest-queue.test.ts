/**
 * Issue 21, ingestion as a queued job (docs/adr/0027): `submit` stores the file and queues an `image.ingest` job;
 * the job decodes and writes the image exactly once, recording it in its own row in the same transaction, so an
 * attempt run again after its process died finds its image instead of writing a second one. `ingest` keeps its
 * synchronous contract over the queue (what a Postgres server does), typed errors included.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { corrupt, makeImage } from '../helpers/images.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

async function storedFiles(): Promise<string[]> {
  const entries = await readdir(path.join(app.home, 'files'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
}

const counts = async () => {
  const p = app.db.prisma;
  return { images: await p.image.count(), embeddings: await p.embedding.count() };
};

describe(`ingestion through the queue on ${TEST_BACKEND}`, () => {
  test('submit returns the queued job at once; the job stores the image and names it; the same file again is that job, then DUPLICATE_IMAGE', async () => {
    const data = await makeImage({ width: 96, height: 64, seed: 201 });
    const job = await app.services.images.submit({ data, fileName: 'queued.png', modality: 'BF', slide: 'Q-1' });
    expect(job).toMatchObject({ kind: 'image.ingest', queued: true, maxAttempts: 3 });
    expect(['QUEUED', 'RUNNING', 'SUCCEEDED']).toContain(job.state);
    const again = await app.services.images.submit({ data, fileName: 'queued-again.png', modality: 'BF' }).catch((e) => e);
    // either the same unfinished job, or (it already ended) DUPLICATE_IMAGE
    if (again instanceof Error) expect(again).toMatchObject({ code: 'DUPLICATE_IMAGE' });
    else expect(again.id).toBe(job.id);

    const done = await app.services.jobs.wait(job.id);
    expect(done).toMatchObject({ state: 'SUCCEEDED', done: 3, total: 3, attempts: 1 });
    const imageId = (done.result as { imageId: number }).imageId;
    const image = await app.services.images.get(imageId);
    expect(image).toMatchObject({ name: 'queued', width: 96, height: 64 });
    await expect(app.services.images.submit({ data, fileName: 'x.png', modality: 'BF' })).rejects.toMatchObject({ code: 'DUPLICATE_IMAGE', existingId: imageId });
  });

  test('an attempt run again after its rows committed (its process died before ending the job) writes nothing twice', async () => {
    const data = await makeImage({ width: 80, height: 80, seed: 202 });
    const job = await app.services.images.submit({ data, fileName: 'twice.png', modality: 'BF' });
    const done = await app.services.jobs.wait(job.id);
    const imageId = (done.result as { imageId: number }).imageId;
    const before = await counts();
    const embeddings = await app.db.prisma.embedding.count({ where: { imageId } });
    // the row as a second attempt finds it when the first died between its commit and SUCCEEDED: RUNNING, result set
    await app.db.prisma.job.update({ where: { id: job.id }, data: { state: 'QUEUED', finishedAt: null, attempts: 1 } });
    await app.services.jobs.queue.enqueue(job.id, 3);
    const rerun = await app.services.jobs.wait(job.id);
    expect(rerun).toMatchObject({ state: 'SUCCEEDED', attempts: 1 });
    expect((rerun.result as { imageId: number }).imageId).toBe(imageId);
    expect(await counts()).toEqual(before);
    expect(await app.db.prisma.embedding.count({ where: { imageId } })).toBe(embeddings);
  });

  test('a job for a file another image already has fails at once as DUPLICATE_IMAGE, the code kept in its result (no retry)', async () => {
    const data = await makeImage({ width: 64, height: 64, seed: 203 });
    const job = await app.services.images.submit({ data, fileName: 'dup.png', modality: 'BF' });
    const first = await app.services.jobs.wait(job.id);
    const imageId = (first.result as { imageId: number }).imageId;
    // a second job for the same file, as two replicas racing would queue it
    const second = await app.services.jobs.enqueue('image.ingest', job.params as Record<string, never>);
    const failed = await app.services.jobs.wait(second.id);
    expect(failed).toMatchObject({ state: 'FAILED', attempts: 1 });
    expect(failed.result).toMatchObject({ error: { code: 'DUPLICATE_IMAGE' } });
    expect(await app.db.prisma.image.findMany({ where: { sha256: (job.params as { sha256: string }).sha256 }, select: { id: true } })).toEqual([{ id: imageId }]);
  });

  test('a file that passes its header check but fails to decode: the job is FAILED with UNSUPPORTED_IMAGE and its file is gone', async () => {
    const data = await corrupt.truncated();
    const files = await storedFiles();
    const before = await counts();
    const job = await app.services.images.submit({ data, fileName: 'cut.png', modality: 'BF' });
    const failed = await app.services.jobs.wait(job.id);
    expect(failed).toMatchObject({ state: 'FAILED', attempts: 1 });
    expect(failed.result).toMatchObject({ error: { code: 'UNSUPPORTED_IMAGE' } });
    expect(await storedFiles()).toEqual(files);
    expect(await counts()).toEqual(before);
  });

  test('a file that is not an image is refused by submit before anything is stored or queued', async () => {
    const files = await storedFiles();
    const jobs = await app.db.prisma.job.count();
    await expect(app.services.images.submit({ data: corrupt.text(), fileName: 'a.txt', modality: 'BF' })).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
    expect(await storedFiles()).toEqual(files);
    expect(await app.db.prisma.job.count()).toBe(jobs);
  });

  test('the file of a queued job survives the start-up sweep, however old', async () => {
    // a queued job's row whose file waits in the store: what the sweep must spare
    const stored = await app.db.prisma.job.create({ data: { kind: 'image.ingest', queued: true, params: { sha256: 'f'.repeat(64) } } });
    const { mkdir, writeFile } = await import('node:fs/promises');
    const file = path.join(app.home, 'files', 'ff', 'f'.repeat(64));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'waiting');
    const orphan = path.join(app.home, 'files', 'ee', 'e'.repeat(64));
    await mkdir(path.dirname(orphan), { recursive: true });
    await writeFile(orphan, 'nobody');
    const removed = await app.services.images.sweepFiles(0);
    expect(removed.map((f) => path.basename(f))).toContain('e'.repeat(64));
    expect(removed.map((f) => path.basename(f))).not.toContain('f'.repeat(64));
    await app.db.prisma.job.delete({ where: { id: stored.id } });
  });

  test('ingest over the queue (as on a Postgres server) keeps its contract: the image, DUPLICATE_IMAGE, UNSUPPORTED_IMAGE', async () => {
    const images = app.services.images;
    const was = images.queuedIngestion;
    images.queuedIngestion = true;
    try {
      const data = await makeImage({ width: 72, height: 60, seed: 205 });
      const jobs = await app.db.prisma.job.count({ where: { kind: 'image.ingest' } });
      const image = await images.ingest({ data, fileName: 'sync.png', modality: 'BF' });
      expect(image).toMatchObject({ name: 'sync', width: 72, height: 60 });
      expect(await app.db.prisma.job.count({ where: { kind: 'image.ingest' } })).toBe(jobs + 1);
      await expect(images.ingest({ data, fileName: 'sync-again.png', modality: 'BF' })).rejects.toMatchObject({ code: 'DUPLICATE_IMAGE', existingId: image.id });
      const cut = await images.ingest({ data: await corrupt.truncated().then((b) => Buffer.concat([b, Buffer.from('x')])), fileName: 'cut2.png', modality: 'BF' }).catch((e) => e);
      expect(cut).toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
      // three at once: one image, two DUPLICATE_IMAGE naming it
      const same = await makeImage({ width: 64, height: 48, seed: 206 });
      const results = await Promise.allSettled([0, 1, 2].map((i) => images.ingest({ data: same, fileName: `same-${i}.png`, modality: 'BF' })));
      const stored = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ id: number }>[];
      expect(stored).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['DUPLICATE_IMAGE', 'DUPLICATE_IMAGE']);
    } finally {
      images.queuedIngestion = was;
    }
  });
});
