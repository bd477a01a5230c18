import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

describe(`SlideService and JobService on ${TEST_BACKEND}`, () => {
  test('create, duplicate name, metadata merge and replace', async () => {
    const slide = await app.services.slides.create({ name: 'TMA 1B', metadata: { stain: 'H&E', block: '1B' } });
    await expect(app.services.slides.create({ name: 'TMA 1B' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const merged = await app.services.slides.updateMetadata(slide.id, { block: null, scanner: 'Aperio' });
    expect(merged.metadata).toEqual({ stain: 'H&E', scanner: 'Aperio' });
    const replaced = await app.services.slides.updateMetadata(slide.id, { only: 1 }, false);
    expect(replaced.metadata).toEqual({ only: 1 });
    await expect(app.services.slides.updateMetadata(slide.id, [1, 2])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(app.services.slides.updateMetadata(999_999, {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('a job reports progress and ends SUCCEEDED with its result; a throwing job ends FAILED', async () => {
    const seen: number[] = [];
    const job = await app.services.jobs.start('index.rebuild', { n: 3 }, async (progress) => {
      for (let i = 1; i <= 3; i++) progress.report(i, 3);
      return { ok: true };
    }, (done) => seen.push(done));
    const done = await app.services.jobs.wait(job.id);
    expect(done).toMatchObject({ state: 'SUCCEEDED', done: 3, total: 3, result: { ok: true } });
    expect(seen).toEqual([1, 2, 3]);
    const bad = await app.services.jobs.start('index.rebuild', {}, async () => {
      throw new Error('boom');
    });
    expect(await app.services.jobs.wait(bad.id)).toMatchObject({ state: 'FAILED', error: 'boom' });
  });
});
