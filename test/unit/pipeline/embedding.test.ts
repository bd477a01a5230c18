import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadComirModel } from '../../../src/pipeline/comir/comir.ts';
import {
  BOX_DESCRIBER,
  EMBEDDING_PARAMS,
  embeddingVersion,
  type WindowDescriber,
  embeddingDimensions,
  queryVectors,
  rankImages,
  type WindowHit,
  windowVectors,
} from '../../../src/pipeline/index/embedding.ts';
import { LearnedDescriber } from '../../../src/pipeline/index/window-descriptor.ts';
import type { GreyImage } from '../../../src/pipeline/types.ts';
import { restyle, rotatedView, texturedImage } from '../../helpers/synthetic-images.ts';

const SIZE = 384;
const N = 12;

/** Another "modality" of the same scene: another gain and offset plus noise (the vectors are zero-mean and normalised). */

/** Exact first stage over in-memory windows (what the HNSW index approximates): every window for every query vector. */
async function firstStage(query: GreyImage, repo: GreyImage[], describer: WindowDescriber = BOX_DESCRIBER, maxRotation = 30) {
  const stored = (await Promise.all(repo.map(async (img, id) => (await windowVectors(img, describer)).map((w) => ({ id, w }))))).flat();
  const hits: WindowHit<number>[] = [];
  for (const [qi, q] of (await queryVectors(query, maxRotation, describer)).entries()) {
    for (const { id, w } of stored) {
      let dot = 0;
      for (let k = 0; k < q.vector.length; k++) dot += q.vector[k] * w.vector[k];
      hits.push({ entryId: id, similarity: dot, window: { x: w.x, y: w.y, width: w.side, height: w.side }, query: qi });
    }
  }
  return rankImages(hits);
}

describe('first-stage vectors (windows of the representation)', () => {
  const repo = Array.from({ length: N }, (_, i) => texturedImage(SIZE, SIZE, 9100 + i));

  it('describes windows as zero-mean unit vectors of grid^2 dimensions, at every stored side', async () => {
    const windows = await windowVectors(repo[0]);
    expect(windows.length).toBeGreaterThan(20);
    for (const w of windows) {
      expect(w.vector.length).toBe(embeddingDimensions());
      const sum = w.vector.reduce((a, b) => a + b, 0);
      const norm = Math.sqrt(w.vector.reduce((a, b) => a + b * b, 0));
      expect(Math.abs(sum)).toBeLessThan(1e-4);
      expect(norm).toBeCloseTo(1, 4);
      expect(w.x + w.side).toBeLessThanOrEqual(SIZE);
      expect(w.y + w.side).toBeLessThanOrEqual(SIZE);
    }
    expect(new Set(windows.map((w) => w.side)).size).toBeGreaterThan(2);
  });

  it('leaves out flat windows and those mostly without data, and bounds the windows of a huge image', async () => {
    const flat = { width: 200, height: 200, data: new Float32Array(200 * 200).fill(0.5) };
    expect(await windowVectors(flat)).toEqual([]);
    const noData = { ...repo[1], data: repo[1].data.map(() => Number.NaN) };
    expect(await windowVectors(noData)).toEqual([]);
    const big = texturedImage(2400, 2400, 5);
    const windows = await windowVectors(big);
    expect(windows.length).toBeLessThanOrEqual(EMBEDDING_PARAMS.maxWindows);
    // the smallest sides were dropped, not the large ones
    expect(Math.min(...windows.map((w) => w.side))).toBeGreaterThan(EMBEDDING_PARAMS.side0);
  });

  it('ranks the source first for rotated copies of another modality (+-30 degrees), and finds the window', async () => {
    for (const [i, angle] of [[2, 25], [5, -20], [8, 0], [11, -30]] as const) {
      const view = restyle(rotatedView(repo[i], SIZE / 2 + 10, SIZE / 2 - 15, angle, 300, 300), 40 + i, 0.3, 0.4, 0.05);
      const ranked = await firstStage(view, repo);
      expect(ranked[0].entryId, `rotated ${angle}`).toBe(i);
      // a clear lead: the score averages the query's 8 best-agreeing vectors (AGREEMENT), which narrows the spread of
      // scores the best window alone had (its lead here was >= 0.05; averaged, the smallest of these four is 0.039)
      expect(ranked[0].score).toBeGreaterThan(ranked[1].score + 0.03);
    }
  });

  it('ranks the source first for 30 % crops, rotated, and says where in the image the crop lies', async () => {
    for (const [i, cx, cy, angle] of [[0, 120, 130, 15], [4, 260, 250, -25], [7, 200, 110, 5]] as const) {
      const side = Math.round(0.3 * SIZE * 1.5);
      const view = restyle(rotatedView(repo[i], cx, cy, angle, side, side), 60 + i, 0.3, 0.4, 0.05);
      const ranked = await firstStage(view, repo);
      expect(ranked[0].entryId, `crop of ${i}`).toBe(i);
      const w = ranked[0].window;
      // the best window's centre lies near the crop's
      expect(Math.hypot(w.x + w.width / 2 - cx, w.y + w.height / 2 - cy)).toBeLessThan(side / 2);
    }
  });

  it('does not rank a distractor first when the query is of none of them', async () => {
    const other = restyle(texturedImage(300, 300, 4242), 3, 0.3, 0.4, 0.05);
    const ranked = await firstStage(other, repo);
    const trueMatchScore = (await firstStage(restyle(rotatedView(repo[3], SIZE / 2, SIZE / 2, 10, 300, 300), 4, 0.3, 0.4, 0.05), repo))[0].score;
    expect(ranked[0].score).toBeLessThan(trueMatchScore);
  });

  it('ranks images by the agreement of the query\'s vectors: the mean of their best similarities on each', () => {
    const w = { x: 0, y: 0, width: 10, height: 10 };
    const hits: WindowHit<number>[] = [
      // image 1: one window that one vector likes best of all
      { entryId: 1, similarity: 0.9, window: { ...w, x: 50 }, query: 0 },
      // image 2: found by vectors 0-2, by two of them twice (only each vector's best counts)
      { entryId: 2, similarity: 0.7, window: { ...w, x: 5 }, query: 0 },
      { entryId: 2, similarity: 0.6, window: { ...w, x: 90 }, query: 0 },
      { entryId: 2, similarity: 0.8, window: { ...w, x: 9 }, query: 1 },
      { entryId: 2, similarity: 0.2, window: { ...w, x: 30 }, query: 1 },
      { entryId: 2, similarity: 0.75, window: { ...w, x: 7 }, query: 2 },
      // the last windows vectors 1 and 2 returned (what they would at most have found in image 1)
      { entryId: 3, similarity: 0.1, window: w, query: 1 },
      { entryId: 3, similarity: 0.15, window: w, query: 2 },
    ];
    const [first, second, third] = rankImages(hits, 2, 3);
    expect(first.entryId).toBe(2);
    expect(first.score).toBeCloseTo((0.8 + 0.75 + 0.7) / 3, 6);
    // its best window, and its best distinct places
    expect(first.window.x).toBe(9);
    expect(first.places.map((p) => p.x)).toEqual([9, 90]);
    // image 1: its 0.9, then the floors of the vectors that did not reach it (0.15 of vector 2, 0.1 of vector 1)
    expect(second.entryId).toBe(1);
    expect(second.score).toBeCloseTo((0.9 + 0.15 + 0.1) / 3, 6);
    expect(third.entryId).toBe(3);
    // agreement 1 is the best window alone
    expect(rankImages(hits, 1, 1).map((r) => [r.entryId, r.score])).toEqual([[1, 0.9], [2, 0.8], [3, 0.15]]);
  });
});

describe('the learned window describer (models/vis-nir window.onnx, docs/adr/0015)', () => {
  const repo = Array.from({ length: N }, (_, i) => texturedImage(SIZE, SIZE, 9100 + i));
  let learned: LearnedDescriber;
  beforeAll(async () => {
    const dir = path.join(import.meta.dirname, '..', '..', '..', 'models', 'vis-nir');
    const model = await loadComirModel(dir); // checks window.onnx against the manifest's sha256
    learned = await LearnedDescriber.load(dir, model.manifest.window_descriptor!);
  });
  afterAll(() => learned?.release());

  it('gives unit vectors of the column\'s dimension, independent of the batch, and none for flat windows', async () => {
    const windows = await windowVectors(repo[0], learned);
    expect(windows.length).toBe((await windowVectors(repo[0])).length);
    for (const w of windows) {
      expect(w.vector.length).toBe(embeddingDimensions());
      expect(Math.sqrt(w.vector.reduce((a, b) => a + b * b, 0))).toBeCloseTo(1, 4);
    }
    // the same window alone or among others: the same vector (no normalisation layer sees the batch)
    const [alone] = await windowVectors({ ...repo[0] }, learned);
    expect(Array.from(alone.vector)).toEqual(Array.from(windows[0].vector));
    const flat = { width: 200, height: 200, data: new Float32Array(200 * 200).fill(0.5) };
    expect(await windowVectors(flat, learned)).toEqual([]);
    expect(embeddingVersion(learned)).not.toBe(embeddingVersion(BOX_DESCRIBER));
  });

  it('ranks the source first for rotated copies and rotated crops of another modality', async () => {
    for (const [i, angle] of [[2, 25], [5, -20], [11, -30]] as const) {
      const view = restyle(rotatedView(repo[i], SIZE / 2 + 10, SIZE / 2 - 15, angle, 300, 300), 40 + i, 0.3, 0.4, 0.05);
      const ranked = await firstStage(view, repo, learned);
      expect(ranked[0].entryId, `rotated ${angle}`).toBe(i);
    }
    for (const [i, cx, cy, angle] of [[0, 120, 130, 15], [4, 260, 250, -25]] as const) {
      const side = Math.round(0.3 * SIZE * 1.5);
      const view = restyle(rotatedView(repo[i], cx, cy, angle, side, side), 60 + i, 0.3, 0.4, 0.05);
      const ranked = await firstStage(view, repo, learned);
      expect(ranked[0].entryId, `crop of ${i}`).toBe(i);
      const w = ranked[0].window;
      expect(Math.hypot(w.x + w.width / 2 - cx, w.y + w.height / 2 - cy)).toBeLessThan(side / 2);
    }
  });
});
