/**
 * Issue 21, replicas stay correct (docs/adr/0027): two processes' worth of cmir (two apps, each with its own
 * connections, queue and LISTEN connection) on one Postgres database. A job one runs reaches the other's `jobUpdated`
 * subscribers; a change to a first-stage inverted file in one drops or updates the other's copy. Postgres only: the
 * embedded database belongs to one process.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import type { Job } from '../../src/db/generated/client.ts';
import { PgNotifications } from '../../src/db/notifications.ts';
import { IndexCache } from '../../src/services/index-cache.ts';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { makeImage } from '../helpers/images.ts';

const onPostgres = TEST_BACKEND === 'postgres';

let a: TestApp;
let b: App;
beforeAll(async () => {
  if (!onPostgres) return;
  a = await createTestApp();
  // a second process on the same database and file store (the shared file store of docs/deploy.md)
  b = await createApp(a.config);
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

describe.skipIf(!onPostgres)('two processes on one Postgres (skipped on the embedded database: one process owns it)', () => {
  test('jobUpdated in B follows an ingestion job that A runs, to its end', async () => {
    const data = await makeImage({ width: 64, height: 64, seed: 301 });
    const job = await a.services.images.submit({ data, fileName: 'replica.png', modality: 'BF' });
    const seen: Job[] = [];
    const updates = await b.services.jobs.watch(job.id);
    const followed = (async () => {
      for await (const row of updates) seen.push(row);
    })();
    // A runs it (it works the queue while it waits); B never takes a job
    const done = await a.services.jobs.wait(job.id);
    expect(done.state).toBe('SUCCEEDED');
    await Promise.race([followed, new Promise((_, reject) => setTimeout(() => reject(new Error(`B saw only ${JSON.stringify(seen.map((j) => j.state))}`)), 5000))]);
    expect(seen.at(-1)).toMatchObject({ id: job.id, state: 'SUCCEEDED', done: 3, total: 3 });
    expect(seen.at(-1)!.owner).not.toBe(b.services.jobs.owner);
    // B read it through its own connection: the image is there for it
    const imageId = (seen.at(-1)!.result as { imageId: number }).imageId;
    expect((await b.services.images.get(imageId)).name).toBe('replica');
  });

  test("an inverted file changed in one process is dropped (add) or updated (remove) in the other's memory within a second", async () => {
    const url = a.config.databaseUrl!;
    const na = new PgNotifications(url);
    const nb = new PgNotifications(url);
    const ca = new IndexCache(a.repos.vectors, na);
    const cb = new IndexCache(b.repos.vectors, nb);
    try {
      await ca.listen();
      await cb.listen();
      const vocabularyId = 987_654; // no histograms: both load an empty file
      const first = await cb.get(vocabularyId, 16);
      expect(await cb.get(vocabularyId, 16)).toBe(first);
      const bow = { ids: Uint32Array.of(1, 5), counts: Float32Array.of(2, 1) };
      first.add(42, bow);
      expect(first.has(42)).toBe(true);

      await ca.remove(42);
      await expect.poll(() => first.has(42), { timeout: 1000, interval: 20 }).toBe(false);

      await ca.add(vocabularyId, 43, bow);
      await expect.poll(async () => (await cb.get(vocabularyId, 16)) !== first, { timeout: 1000, interval: 20 }).toBe(true);
    } finally {
      await na.close();
      await nb.close();
    }
  });
});
