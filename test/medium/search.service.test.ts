/**
 * Retrieval through the services on a real database (issue 3, small version of its "Done when"): generated textures
 * are ingested, a vocabulary is built in a Job, and transformed queries are searched, ranked and located.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeImage } from '../../src/pipeline/decode/decode.ts';
import { EmbeddingService } from '../../src/services/embedding.service.ts';
import { correlationSettings } from '../../src/services/search-settings.ts';
import { iouRectPolygon, rectPolygon } from '../../src/pipeline/rerank/geometry.ts';
import type { GreyImage } from '../../src/pipeline/types.ts';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { crop, rotatedView, texturedImage } from '../helpers/synthetic-images.ts';
import { greyPng } from '../helpers/images.ts';

const SIZE = 320;
const N = 8;
const CROP = 175; // 30 % of the area (sqrt(0.3) x 320 px), as in helper-1's pipeline test


let app: TestApp;
const images: GreyImage[] = [];
const ids: number[] = [];

beforeAll(async () => {
  app = await createTestApp();
  for (let i = 0; i < N; i++) {
    images.push(texturedImage(SIZE, SIZE, 2000 + i));
    const row = await app.services.images.ingest({ data: await greyPng(images[i]), fileName: `tex${i}.png`, modality: 'TEX' });
    ids.push(row.id);
  }
});
afterAll(() => app?.close());

describe(`search on ${TEST_BACKEND}`, () => {
  test('before a vocabulary exists, the vector first stage answers and the word-based modes are INDEX_NOT_READY; unknown modalities are NOT_FOUND', async () => {
    const data = await greyPng(images[0]);
    const res = await app.services.search.search({ data, modality: 'TEX', target: 'TEX', first: 3 });
    expect(res).toMatchObject({ firstStage: 'vectors', rerank: 'correlate', vocabularyId: null });
    expect(res.matches[0].imageId).toBe(ids[0]);
    for (const mode of ['verify', 'fast', 'paper'] as const) {
      await expect(app.services.search.search({ data, modality: 'TEX', target: 'TEX', rerank: { mode } })).rejects.toMatchObject({ code: 'INDEX_NOT_READY' });
    }
    await expect(app.services.search.search({ data, modality: 'TEX', target: 'NOPE' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(app.services.search.search({ data, modality: 'TEX', target: 'TEX', first: 0 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  test('a vocabulary build is a Job that ends SUCCEEDED, versioned, with one histogram per image', async () => {
    const job = await app.services.vocabularies.build('TEX', { size: 4000, seed: 3 });
    expect(job.state).toBe('QUEUED');
    const done = await app.services.jobs.wait(job.id);
    expect(done).toMatchObject({ state: 'SUCCEEDED', done: done.total });
    expect(done.total).toBeGreaterThan(0);
    const [vocab] = await app.services.vocabularies.list('TEX');
    expect(vocab).toMatchObject({ size: 4000, state: 'ready', space: 'TEX/raw' });
    expect(await app.db.prisma.histogram.count({ where: { vocabularyId: vocab.id } })).toBe(N);
    // the build encodes from the features it pooled: the same histogram as encoding the image afresh
    const modality = await app.services.representations.modality((await app.services.modalities.getByName('TEX')).id);
    const loaded = (await app.services.vocabularies.active(modality))!;
    const row = (await app.repos.images.findManyByIds([ids[2]]))[0];
    const fresh = app.services.vocabularies.encode(await app.services.representations.ofImage(row, modality), loaded);
    const stored = (await app.repos.vectors.histogram(vocab.id, ids[2]))!;
    expect([...stored.bow.ids]).toEqual([...fresh.bow.ids]);
    expect([...stored.bow.counts]).toEqual([...fresh.bow.counts]);
    expect(stored.bow.ids.length).toBeGreaterThan(100);
  });

  test('shifted, slightly rotated whole images rank their source first with the top score', async () => {
    for (let i = 0; i < N; i++) {
      const q = rotatedView(images[i], SIZE / 2 + 12, SIZE / 2 - 9, i % 2 ? 8 : -6, SIZE, SIZE);
      const res = await app.services.search.search({ data: await greyPng(q), modality: 'TEX', target: 'TEX', first: 3, rerank: { mode: 'none' } });
      expect(res.matches[0].imageId).toBe(ids[i]);
      expect(res.matches[0].score).toBeGreaterThan(res.matches[1].score);
      expect(res.timings.total).toBeGreaterThan(0);
    }
  });

  test('30 % crops: fast re-ranking finds the source and where the crop lies (IoU >= 0.5)', async () => {
    let located = 0;
    for (let i = 0; i < N; i++) {
      const x = 20 + ((i * 37) % (SIZE - CROP - 20)), y = 10 + ((i * 53) % (SIZE - CROP - 10));
      const q = crop(images[i], x, y, CROP, CROP);
      const res = await app.services.search.search({ data: await greyPng(q), modality: 'TEX', target: 'TEX', first: 5, rerank: { mode: 'fast', topK: 5 } });
      expect(res.matches[0].imageId).toBe(ids[i]);
      const region = res.matches[0].region!;
      expect(region.width).toBe(CROP);
      if (iouRectPolygon(region, rectPolygon({ x, y, width: CROP, height: CROP })) >= 0.5) located++;
    }
    expect(located / N).toBeGreaterThanOrEqual(0.9);
  });

  test('correlate re-ranking: rotated, restyled whole images find their source and say where they lie', async () => {
    for (const i of [1, 4, 6]) {
      const angle = i % 2 ? 22 : -17;
      const q = rotatedView(images[i], SIZE / 2 + 20, SIZE / 2 - 14, angle, 260, 240);
      // another "modality": gain, offset and inverted contrast would defeat SURF words, NCC ignores gain and offset
      const restyled = { ...q, data: q.data.map((v) => 0.15 + 0.6 * v) };
      const res = await app.services.search.search({ data: await greyPng(restyled), modality: 'TEX', target: 'TEX', first: 3, rerank: { mode: 'correlate', topK: N } });
      expect(res.matches[0].imageId).toBe(ids[i]);
      expect(res.matches[0].score).toBeGreaterThan(0.8);
      expect(res.matches[0].score).toBeGreaterThan(res.matches[1].score + 0.2);
      // the query centre maps to the view centre in the source (within a working-scale pixel, 4 px here)
      const t = res.matches[0].transform!;
      const [cx, cy] = [t[0] * 130 + t[1] * 120 + t[2], t[3] * 130 + t[4] * 120 + t[5]];
      expect(Math.hypot(cx - (SIZE / 2 + 20), cy - (SIZE / 2 - 14))).toBeLessThan(6);
    }
    await expect(
      app.services.search.search({ data: await greyPng(images[0]), modality: 'TEX', target: 'TEX', rerank: { mode: 'nope' as never } }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  test('correlate sweeps scale when asked: a query shown 10 % larger is found and its scale recovered; by default it is not', async () => {
    const q = rotatedView(images[3], SIZE / 2 - 10, SIZE / 2 + 12, 12, 240, 220, 1.1);
    const data = await greyPng({ ...q, data: q.data.map((v) => 0.15 + 0.6 * v) });
    const scaleOf = (t: number[]) => Math.sqrt(Math.abs(t[0] * t[4] - t[1] * t[3]));
    const swept = await app.services.search.search({ data, modality: 'TEX', target: 'TEX', first: 3, rerank: { mode: 'correlate', topK: N, scaleTolerance: 0.1 } });
    expect(swept.matches[0].imageId).toBe(ids[3]);
    expect(Math.abs(scaleOf(swept.matches[0].transform!) - 1 / 1.1)).toBeLessThan(0.04);
    // TEX has no CoMIR pair, so no manifest default: one scale (search.service.ts POSE_DEFAULTS)
    const fixed = await app.services.search.search({ data, modality: 'TEX', target: 'TEX', first: N, rerank: { mode: 'correlate', topK: N } });
    const own = fixed.matches.find((m) => m.imageId === ids[3])!;
    expect(scaleOf(own.transform!)).toBeCloseTo(1, 6);
    expect(swept.matches[0].score).toBeGreaterThan(own.score + 0.1);
    await expect(
      app.services.search.search({ data, modality: 'TEX', target: 'TEX', rerank: { mode: 'correlate', maxRotation: 200 } }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { parameter: 'rerank.maxRotation' } });
  });

  test('correlate with structure: an inverted-contrast query that the values miss is found; both signals score at one pose', async () => {
    const i = 6;
    const q = rotatedView(images[i], SIZE / 2 - 14, SIZE / 2 + 9, -11, 250, 230);
    const ask = async (view: GreyImage, structureWeight?: number) =>
      app.services.search.search({ data: await greyPng(view), modality: 'TEX', target: 'TEX', first: N, rerank: { mode: 'correlate', topK: N, structureWeight } });
    // another "band": the same edges with the opposite sign (vegetation: dark in RGB, bright in NIR)
    const inverted = { ...q, data: q.data.map((v) => 0.85 - 0.6 * v) };
    const values = await ask(inverted); // TEX has no CoMIR pair, so no manifest default: no structure (DEFAULT_STRUCTURE_WEIGHT)
    const structure = await ask(inverted, 1);
    expect(values.matches[0].imageId).not.toBe(ids[i]);
    expect(structure.matches[0].imageId).toBe(ids[i]);
    // a restyled view, where both signals agree: the score is theirs at one pose, never above the mean of their peaks
    const restyled = { ...q, data: q.data.map((v) => 0.15 + 0.6 * v) };
    const [v, s, both] = [await ask(restyled, 0), await ask(restyled, 1), await ask(restyled, 0.5)];
    const score = (r: typeof values, id: number) => r.matches.find((m) => m.imageId === id)!.score;
    expect(both.matches[0].imageId).toBe(ids[i]);
    expect(score(both, ids[i])).toBeCloseTo(0.5 * score(v, ids[i]) + 0.5 * score(s, ids[i]), 1);
    for (const id of ids) expect(score(both, id)).toBeLessThanOrEqual(0.5 * score(v, id) + 0.5 * score(s, id) + 1e-9);
    // the query centre maps to the view centre
    const t = both.matches[0].transform!;
    expect(Math.hypot(t[0] * 125 + t[1] * 115 + t[2] - (SIZE / 2 - 14), t[3] * 125 + t[4] * 115 + t[5] - (SIZE / 2 + 9))).toBeLessThan(6);
    await expect(ask(q, 1.5)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { parameter: 'rerank.structureWeight' } });
  });

  test('correlate refines its best candidates at twice the resolution: finer poses for them, the rest in coarse order', async () => {
    const i = 2, angle = 13, cx = SIZE / 2 + 25, cy = SIZE / 2 - 18;
    const q = rotatedView(images[i], cx, cy, angle, CROP, CROP);
    const data = await greyPng({ ...q, data: q.data.map((v) => 0.15 + 0.6 * v) });
    const ask = (refine: number) => app.services.search.search({ data, modality: 'TEX', target: 'TEX', first: N, rerank: { mode: 'correlate', topK: N, refine } });
    const [coarse, refined] = [await ask(0), await ask(3)];
    expect(refined.matches[0].imageId).toBe(ids[i]);
    // only the best 3 are re-ordered; their scores are the finer correlation's
    expect(new Set(refined.matches.slice(0, 3).map((m) => m.imageId))).toEqual(new Set(coarse.matches.slice(0, 3).map((m) => m.imageId)));
    // (their confidence is their lead over the new top score, so it moves with the refined ones)
    const plain = ({ confidence: _, ...m }: (typeof coarse.matches)[number]) => m;
    expect(refined.matches.slice(3).map(plain)).toEqual(coarse.matches.slice(3).map((m, k) => ({ ...plain(m), rank: k + 4 })));
    expect(refined.matches[0].score).not.toBe(coarse.matches[0].score);
    // 13 degrees: the coarse sweep's nearest is 15, the refinement's half steps give 12.5; the centre moves less too
    const pose = (t: number[]) => ({ angle: (Math.atan2(t[3], t[0]) * 180) / Math.PI, centre: Math.hypot(t[0] * (CROP / 2) + t[1] * (CROP / 2) + t[2] - cx, t[3] * (CROP / 2) + t[4] * (CROP / 2) + t[5] - cy) });
    const [c, r] = [pose(coarse.matches[0].transform!), pose(refined.matches[0].transform!)];
    expect(Math.abs(r.angle - angle)).toBeLessThan(Math.abs(c.angle - angle));
    expect(r.centre).toBeLessThanOrEqual(c.centre + 1);
    expect(r.centre).toBeLessThan(4);
    await expect(ask(2.5)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { parameter: 'rerank.refine' } });
  });

  test('a query with a black warp fill is found with the fill declared as no data (noDataValue), and typed errors', async () => {
    const i = 5, angle = -14, w = 260, h = 240;
    const q = rotatedView(images[i], SIZE / 2 + 12, SIZE / 2 + 10, angle, w, h);
    // restyled into 0.15..0.75, then a corner triangle and a band at the bottom are the warp's black fill (0)
    const filled = { ...q, data: q.data.map((v, k) => ((k % w) + Math.floor(k / w) < 150 || Math.floor(k / w) >= h - 50 ? 0 : 0.15 + 0.6 * v)) };
    const data = await greyPng(filled);
    const ask = (noDataValue?: number) => app.services.search.search({ data, modality: 'TEX', target: 'TEX', first: N, noDataValue, rerank: { mode: 'correlate', topK: N } });
    const declared = await ask(0);
    const plain = await ask();
    expect(declared.matches[0].imageId).toBe(ids[i]);
    expect(declared.matches[0].score).toBeGreaterThan(0.8);
    const own = (r: typeof plain) => r.matches.find((m) => m.imageId === ids[i])!.score;
    expect(own(declared)).toBeGreaterThan(own(plain) + 0.2);
    // the query centre still maps to the view centre in the source
    const t = declared.matches[0].transform!;
    const [cx, cy] = [t[0] * (w / 2) + t[1] * (h / 2) + t[2], t[3] * (w / 2) + t[4] * (h / 2) + t[5]];
    expect(Math.hypot(cx - (SIZE / 2 + 12), cy - (SIZE / 2 + 10))).toBeLessThan(6);
    await expect(ask(2)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { parameter: 'noDataValue' } });
    const black = await greyPng({ width: 64, height: 64, data: new Float32Array(64 * 64) });
    await expect(
      app.services.search.search({ data: black, modality: 'TEX', target: 'TEX', noDataValue: 0 }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { parameter: 'noDataValue' }, message: expect.stringMatching(/holds no data/) });
  });

  test('searching with a stored image excludes the image itself', async () => {
    const res = await app.services.search.search({ imageId: ids[0], target: 'TEX', first: 10, rerank: { mode: 'none' } });
    expect(res.matches.map((m) => m.imageId)).not.toContain(ids[0]);
  });

  test('a newly ingested image is indexed at once and found', async () => {
    const extra = texturedImage(SIZE, SIZE, 9999);
    const row = await app.services.images.ingest({ data: await greyPng(extra), fileName: 'new.png', modality: 'TEX' });
    const res = await app.services.search.search({ data: await greyPng(crop(extra, 40, 60, 200, 200)), modality: 'TEX', target: 'TEX', first: 1 });
    expect(res.matches[0].imageId).toBe(row.id);
    expect(res.rerank).toBe('verify'); // auto, within one modality
    await app.services.images.delete(row.id);
    const after = await app.services.search.search({ data: await greyPng(crop(extra, 40, 60, 200, 200)), modality: 'TEX', target: 'TEX', first: 5, rerank: { mode: 'none' } });
    expect(after.matches.map((m) => m.imageId)).not.toContain(row.id);
  });

  test('a rebuilt vocabulary becomes the active version; searches use it and report it', async () => {
    const before = await app.services.vocabularies.list('TEX');
    const job = await app.services.vocabularies.build('TEX', { size: 3000, seed: 4 });
    expect((await app.services.jobs.wait(job.id)).state).toBe('SUCCEEDED');
    const after = await app.services.vocabularies.list('TEX');
    expect(after).toHaveLength(before.length + 1);
    const newest = after.at(-1)!;
    expect(newest).toMatchObject({ size: 3000, state: 'ready' });
    const res = await app.services.search.search({ data: await greyPng(crop(images[1], 30, 30, CROP, CROP)), modality: 'TEX', target: 'TEX', first: 1 });
    expect(res.vocabularyId).toBe(newest.id);
    expect(res.matches[0].imageId).toBe(ids[1]);
  });

  test('images ingested while a vocabulary is built are indexed under the new version', async () => {
    const late: Promise<{ id: number }>[] = [];
    const extra = [texturedImage(SIZE, SIZE, 7001), texturedImage(SIZE, SIZE, 7002)];
    const ingest = (k: number) => {
      late[k] = greyPng(extra[k]).then((data) => app.services.images.ingest({ data, fileName: `late${k}.png`, modality: 'TEX' }));
    };
    const job = await app.services.vocabularies.build('TEX', { size: 2000, seed: 5 }, (done, total) => {
      const n = (total - 100) / 2; // pool n images, <= 100 k-means iterations, index n images
      if (!late[0]) ingest(0); // the build has listed its images: this one is not among them
      if (!late[1] && done > n + 100) ingest(1); // the new version is being indexed
    });
    const finished = await app.services.jobs.wait(job.id);
    const rows = await Promise.all(late);
    expect(finished.state).toBe('SUCCEEDED');
    const newest = (await app.services.vocabularies.list('TEX')).at(-1)!;
    expect(newest).toMatchObject({ id: (finished.result as { vocabularyId: number }).vocabularyId, state: 'ready' });
    for (const [k, row] of rows.entries()) {
      expect(await app.db.prisma.histogram.count({ where: { vocabularyId: newest.id, imageId: row.id } })).toBe(1);
      const res = await app.services.search.search({ data: await greyPng(crop(extra[k], 50, 40, 200, 200)), modality: 'TEX', target: 'TEX', first: 1 });
      expect(res.vocabularyId).toBe(newest.id);
      expect(res.matches[0].imageId).toBe(row.id);
    }
    for (const row of rows) await app.services.images.delete(row.id);
  });

  test('correlate re-ranks up to 200 candidates by default, the word-based modes 30 (SEARCH_LIMITS)', async () => {
    const M = 33; // more than 30 images, so the two defaults give different candidate counts
    for (let i = 0; i < M; i++) {
      await app.services.images.ingest({ data: await greyPng(texturedImage(128, 128, 5000 + i)), fileName: `small${i}.png`, modality: 'SMALL' });
    }
    expect((await app.services.jobs.wait((await app.services.vocabularies.build('SMALL', { size: 1000, seed: 1 })).id)).state).toBe('SUCCEEDED');
    const data = await greyPng(texturedImage(128, 128, 5007));
    const correlated = await app.services.search.search({ data, modality: 'SMALL', target: 'SMALL', first: 100, rerank: { mode: 'correlate' } });
    expect(correlated.matches).toHaveLength(M);
    expect(correlated.matches[0].score).toBeGreaterThan(0.99); // the same pixels
    const verified = await app.services.search.search({ data, modality: 'SMALL', target: 'SMALL', first: 100, rerank: { mode: 'verify' } });
    expect(verified.matches).toHaveLength(30);
    const few = await app.services.search.search({ data, modality: 'SMALL', target: 'SMALL', first: 100, rerank: { mode: 'correlate', topK: 5 } });
    expect(few.matches).toHaveLength(5);
  });

  test('after a learned window descriptor\'s first stage, correlate re-ranks K = 30 (docs/adr/0015), or 8 when the cascade stops there (docs/adr/0016)', async () => {
    // the shipped vis-nir model's manifest carries a window descriptor; SMALL above has no model
    await app.services.models.register(path.join(import.meta.dirname, '..', '..', 'models', 'vis-nir'));
    const M = 33;
    for (let i = 0; i < M; i++) {
      await app.services.images.ingest({ data: await greyPng(texturedImage(128, 128, 7000 + i)), fileName: `nir${i}.png`, modality: 'NIR' });
    }
    const nir = (await app.services.representations.modalityByName('NIR'))!;
    expect(EmbeddingService.learned(nir)).toBe(true);
    const data = await greyPng(texturedImage(128, 128, 7003));
    const all = await app.services.search.search({ data, modality: 'RGB', target: 'NIR', first: 100, rerank: { topK: 30 } });
    expect(all.rerank).toBe('correlate');
    expect(all.matches).toHaveLength(30);
    const more = await app.services.search.search({ data, modality: 'RGB', target: 'NIR', first: 100, rerank: { topK: 40 } });
    expect(more.matches.length).toBeGreaterThanOrEqual(M);
    // by default the cascade (docs/adr/0016): the source leads the first stage's best 8 by far more than the stop lead,
    // so only those 8 are correlated, and the answer is the one re-ranking all 30 gives
    const res = await app.services.search.search({ data, modality: 'RGB', target: 'NIR', first: 100 });
    expect(res.matches).toHaveLength(8);
    expect(res.matches[0].imageId).toBe(all.matches[0].imageId);
    expect(res.matches[0].score).toBeCloseTo(all.matches[0].score, 6);
    expect(res.matches[0].confidence).toBeGreaterThanOrEqual(res.confidenceThreshold);
  });

  test('the cascade goes on past the first 8 when none of them leads, and stops when one does (docs/adr/0016)', async () => {
    const nir = (await app.services.representations.modalityByName('NIR'))!, rgb = (await app.services.representations.modalityByName('RGB'))!;
    const ids = (await app.db.prisma.image.findMany({ where: { modality: { name: 'NIR' } }, select: { id: true } })).map((r) => r.id).sort((x, y) => x - y);
    const source = ids[3]; // nir3.png, seed 7003
    const pixels = (await decodeImage(await greyPng(texturedImage(128, 128, 7003)), { maxPixels: 1e8 })).image;
    const query = { comir: await app.services.representations.compute(rgb, pixels), pixels, modality: rgb, valid: null };
    const settings = correlationSettings({ maxRotation: null, scaleTolerance: null, structureWeight: null, refine: null }, nir);
    const firstStage = (at: number) => {
      const others = ids.filter((id) => id !== source).slice(0, 29);
      return [...others.slice(0, at), source, ...others.slice(at)].map((entryId) => ({ entryId, score: 0, nWords: 0 }));
    };
    // the first stage put the source 16th: none of the 8 leads, so all 30 are correlated and the source comes first
    const late = await app.services.reranker.correlate(firstStage(15), query, nir, settings);
    expect(late).toHaveLength(30);
    expect(late[0].imageId).toBe(source);
    // the first stage put it 3rd: it leads the 8 by more than the stop lead, and the rest is not correlated
    const early = await app.services.reranker.correlate(firstStage(2), query, nir, settings);
    expect(early).toHaveLength(8);
    expect(early[0].imageId).toBe(source);
    expect(early[0].score - early[1].score).toBeGreaterThanOrEqual(settings.cascade!.stopLead);
    expect(early[0].score).toBeCloseTo(late[0].score, 6);
  });

  test('an image ingested with a black fill declared as no data is found where a query overlaps the fill; typed errors', async () => {
    const textures = [0, 1, 2, 3].map((k) => texturedImage(SIZE, SIZE, 2300 + k));
    // the first is a warped acquisition: columns from 200 on are the warp's black fill
    const warped = { ...textures[0], data: textures[0].data.map((v, k) => (k % SIZE >= 200 ? 0 : 0.1 + 0.8 * v)) };
    const rows = [];
    for (const [k, t] of [warped, ...textures.slice(1)].entries()) {
      rows.push(await app.services.images.ingest({ data: await greyPng(t), fileName: `w${k}.png`, modality: 'WARPED', noDataValue: k === 0 ? 0 : null }));
    }
    expect(rows.map((r) => r.noDataValue)).toEqual([0, null, null, null]);
    expect((await app.services.jobs.wait((await app.services.vocabularies.build('WARPED', { size: 1000, seed: 1 })).id)).state).toBe('SUCCEEDED');
    // a view centred at x = 175: about a third of it lies over the fill
    const q = rotatedView(textures[0], 175, SIZE / 2, 10, 200, 180);
    const res = await app.services.search.search({ data: await greyPng({ ...q, data: q.data.map((v) => 0.15 + 0.6 * v) }), modality: 'WARPED', target: 'WARPED', first: 4, rerank: { mode: 'correlate' } });
    expect(res.matches[0].imageId).toBe(rows[0].id);
    // measured 0.93 in the unit test of the same geometry; the fill correlated as content gave 0.44 there
    expect(res.matches[0].score).toBeGreaterThan(0.8);
    // its structure leaves the fill and the fill's edge out too
    const edges = await app.services.search.search({ data: await greyPng({ ...q, data: q.data.map((v) => 0.15 + 0.6 * v) }), modality: 'WARPED', target: 'WARPED', first: 4, rerank: { mode: 'correlate', structureWeight: 1 } });
    expect(edges.matches[0].imageId).toBe(rows[0].id);
    expect(edges.matches[0].score).toBeGreaterThan(0.8);
    const before = (await app.services.images.list({ modality: 'WARPED' }, {})).totalCount;
    await expect(
      app.services.images.ingest({ data: await greyPng({ width: 64, height: 64, data: new Float32Array(64 * 64) }), fileName: 'black.png', modality: 'WARPED', noDataValue: 0 }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { parameter: 'noDataValue' }, message: expect.stringMatching(/image holds no data/) });
    await expect(
      app.services.images.ingest({ data: await greyPng(textures[3]), fileName: 'x.png', modality: 'WARPED', noDataValue: 1.5 }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { parameter: 'noDataValue' } });
    expect((await app.services.images.list({ modality: 'WARPED' }, {})).totalCount).toBe(before);
  });

  test('a match becomes a proposed link with its region, then is confirmed', async () => {
    // who acts comes from the caller (an API key's name, or the CLI), never from the link's input
    const WHO = { keyId: null, name: 'dr. who' };
    const query = await app.services.images.ingest({ data: await greyPng(crop(images[2], 50, 50, CROP, CROP)), fileName: 'acq.png', modality: 'ACQ' });
    const link = await app.services.links.link({ sourceId: query.id, targetId: ids[2], region: { x: 50, y: 50, width: CROP, height: CROP }, score: 0.4, method: 'search:fast' }, WHO);
    expect(link).toMatchObject({ status: 'PROPOSED', createdBy: 'dr. who', transform: [1, 0, 50, 0, 1, 50], score: 0.4 });
    expect(link.region).toEqual([[50, 50], [50 + CROP, 50], [50 + CROP, 50 + CROP], [50, 50 + CROP]]);
    const confirmed = await app.services.links.setStatus(link.id, 'CONFIRMED', WHO);
    expect(confirmed).toMatchObject({ status: 'CONFIRMED', decidedBy: 'dr. who' });
    expect(confirmed.decidedAt).toBeInstanceOf(Date);
    await expect(app.services.links.link({ sourceId: query.id, targetId: query.id }, WHO)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(app.services.links.link({ sourceId: query.id, targetId: ids[2], transform: [1, 2] }, WHO)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
