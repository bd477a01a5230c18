import { describe, expect, it } from 'vitest';
import { KdTree } from '../../../src/pipeline/index/kdtree.ts';
import { createQuantizer, deserializeVocabulary, PARALLEL_MIN_POINTS, quantize, selectStrongest, serializeVocabulary, trainVocabulary } from '../../../src/pipeline/index/vocabulary.ts';
import type { FeatureSet } from '../../../src/pipeline/features/surf.ts';
import { trainVocabularyOffThread } from '../../../src/pipeline/index/vocabulary-thread.ts';
import { rng } from '../../helpers/synthetic-images.ts';

function gaussianClusters(nClusters: number, perCluster: number, dim: number, spread: number, seed: number): { data: Float32Array; centres: Float32Array } {
  const r = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const centres = new Float32Array(nClusters * dim).map(() => r() * 10);
  const data = new Float32Array(nClusters * perCluster * dim);
  for (let c = 0; c < nClusters; c++) for (let p = 0; p < perCluster; p++) for (let j = 0; j < dim; j++) data[(c * perCluster + p) * dim + j] = centres[c * dim + j] + spread * gauss();
  return { data, centres };
}

const sq = (a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number => {
  let s = 0;
  for (let j = 0; j < dim; j++) s += (a[ao + j] - b[bo + j]) ** 2;
  return s;
};

describe('kd-tree', () => {
  it('is exact with unlimited checks and has high recall with 32 checks', () => {
    const r = rng(3);
    const dim = 16, n = 3000;
    const pts = new Float32Array(n * dim).map(() => r());
    const qs = new Float32Array(200 * dim).map(() => r());
    const tree = new KdTree(pts, dim, 1);
    let exact = 0, approx = 0;
    for (let i = 0; i < 200; i++) {
      let best = -1, bd = Infinity;
      for (let p = 0; p < n; p++) {
        const d = sq(qs, i * dim, pts, p * dim, dim);
        if (d < bd) { bd = d; best = p; }
      }
      if (tree.nearest(qs, i * dim, Infinity) === best) exact++;
      expect(tree.lastDistance).toBeGreaterThanOrEqual(bd - 1e-6);
      if (tree.nearest(qs, i * dim, 32) === best) approx++;
    }
    expect(exact).toBe(200);
    expect(approx).toBeGreaterThan(60); // 16-D uniform is hard for 32 checks; measured ~0.5
    expect(approx).toBeLessThan(200);
  });
});

describe('trainVocabulary', () => {
  it('recovers well-separated clusters, deterministically', () => {
    const { data, centres } = gaussianClusters(12, 200, 8, 0.05, 9);
    const v = trainVocabulary(data, 8, { size: 12, seed: 7 });
    expect(v.size).toBe(12);
    expect(v.report.converged).toBe(true);
    // every true centre has a centroid within 0.05 (spread 0.05 * sqrt(8) / sqrt(200) ~ 0.01)
    for (let c = 0; c < 12; c++) {
      let best = Infinity;
      for (let w = 0; w < 12; w++) best = Math.min(best, sq(centres, c * 8, v.centroids, w * 8, 8));
      expect(Math.sqrt(best)).toBeLessThan(0.05);
    }
    const again = trainVocabulary(data, 8, { size: 12, seed: 7 });
    expect([...again.centroids]).toEqual([...v.centroids]);
    // SSE never increases (assignment never worse than the previous centre)
    for (let i = 1; i < v.report.sse.length; i++) expect(v.report.sse[i]).toBeLessThanOrEqual(v.report.sse[i - 1] * (1 + 1e-9));
  });

  it('caps the size at the descriptor count and reports progress', () => {
    const { data } = gaussianClusters(2, 5, 4, 1, 1);
    const calls: number[] = [];
    const v = trainVocabulary(data, 4, { size: 50, seed: 1, onProgress: (i) => calls.push(i) });
    expect(v.size).toBe(10);
    expect(calls[0]).toBe(1);
  });

  it('two-level seeding gives K distinct centroids for K = 1000', () => {
    const r = rng(5);
    const data = new Float32Array(9000 * 8).map(() => r());
    const v = trainVocabulary(data, 8, { size: 1000, seed: 2, maxIterations: 3 });
    expect(v.size).toBe(1000);
    const keys = new Set<string>();
    for (let w = 0; w < 1000; w++) keys.add(v.centroids.subarray(w * 8, w * 8 + 8).join(','));
    expect(keys.size).toBe(1000);
  });

  it('strongestFraction keeps the strongest rows only', () => {
    // 10 rows; strengths favour rows 0..7; rows 8, 9 are far outliers that must not become words
    const data = new Float32Array(10 * 2);
    for (let i = 0; i < 8; i++) data.set([i % 2, 0], i * 2);
    data.set([100, 100], 16);
    data.set([-100, 100], 18);
    const strengths = Float32Array.from([9, 9, 9, 9, 9, 9, 9, 9, 1, 1]);
    const v = trainVocabulary(data, 2, { size: 10, seed: 1, strongestFraction: 0.8, strengths });
    expect(v.size).toBe(8);
    for (let w = 0; w < v.size; w++) expect(Math.abs(v.centroids[w * 2])).toBeLessThanOrEqual(1);
  });
});

describe('quantize / serialise / selectStrongest', () => {
  it('quantize assigns the nearest word; serialisation round-trips', () => {
    const { data } = gaussianClusters(6, 50, 64, 0.02, 4);
    const v = trainVocabulary(data, 64, { size: 6, seed: 3 });
    const words = quantize(v, data);
    expect(words).toBeInstanceOf(Uint16Array);
    for (let i = 0; i < 300; i++) {
      let best = -1, bd = Infinity;
      for (let w = 0; w < 6; w++) {
        const d = sq(data, i * 64, v.centroids, w * 64, 64);
        if (d < bd) { bd = d; best = w; }
      }
      expect(words[i]).toBe(best);
    }
    const back = deserializeVocabulary(serializeVocabulary(v));
    expect(back.size).toBe(6);
    expect([...back.centroids]).toEqual([...v.centroids]);
    expect([...createQuantizer(back).quantize(data)]).toEqual([...words]);
    expect(() => deserializeVocabulary(Buffer.from('nope'))).toThrow();
  });

  it('selectStrongest pools all sets and keeps round(0.8 * total) by strength', () => {
    const mk = (vals: number[]): FeatureSet => ({
      count: vals.length, dim: 64, descriptors: new Float32Array(vals.length * 64).map((_, i) => vals[Math.floor(i / 64)]),
      x: new Float32Array(vals.length), y: new Float32Array(vals.length), scaleIndex: new Uint8Array(vals.length),
      strength: Float32Array.from(vals), gridWidth: vals.length, gridHeight: 1, nScales: 1, step: 8, start: 3, scales: [1.6],
    });
    const out = selectStrongest([mk([1, 5, 3]), mk([4, 2])]); // round(0.8*5) = 4 -> drop strength 1
    expect(out.length).toBe(4 * 64);
    expect([0, 1, 2, 3].map((i) => out[i * 64])).toEqual([5, 3, 4, 2]);
  });
});

describe('multi-threaded assignment', () => {
  it('gives the same vocabulary with 1 and 2 threads (worker threads through tsx)', () => {
    // PARALLEL_MIN_POINTS rows (workers are only started from there on); 8-D keeps it fast (~1 s)
    const r = rng(17);
    const n = PARALLEL_MIN_POINTS, dim = 8;
    const data = new Float32Array(n * dim).map(() => r());
    const one = trainVocabulary(data, dim, { size: 64, seed: 3, maxIterations: 3, threads: 1 });
    const two = trainVocabulary(data, dim, { size: 64, seed: 3, maxIterations: 3, threads: 2 });
    expect(one.report.threads).toBe(1);
    expect(two.report.threads).toBe(2);
    expect(two.report.sse).toEqual(one.report.sse);
    expect([...two.centroids]).toEqual([...one.centroids]);
  });
});

describe('trainVocabularyOffThread', () => {
  it('gives trainVocabulary\'s result while this thread keeps running (the event loop is not blocked)', async () => {
    const { data } = gaussianClusters(40, 400, 16, 0.5, 21);
    const expected = trainVocabulary(data, 16, { size: 40, seed: 5, maxIterations: 6, threads: 1 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const progress: number[] = [];
    try {
      const v = await trainVocabularyOffThread(data, 16, { size: 40, seed: 5, maxIterations: 6, threads: 1, onProgress: (it) => progress.push(it) });
      expect([...v.centroids]).toEqual([...expected.centroids]);
      expect(v.report.sse).toEqual(expected.report.sse);
    } finally {
      clearInterval(timer);
    }
    // a synchronous trainer would leave no tick between the call and its result; the worker's start alone takes
    // ~0.35 s (tsx compiles its modules)
    expect(ticks).toBeGreaterThan(0);
    expect(progress).toEqual(Array.from({ length: expected.report.iterations }, (_, i) => i + 1));
    expect(data.length).toBe(40 * 400 * 16); // copied, not moved
  });

  it('moves the descriptors when asked, and rejects with the trainer\'s error', async () => {
    const data = new Float32Array(64 * 50).fill(1);
    await trainVocabularyOffThread(data, 64, { size: 3, seed: 1, transfer: true });
    expect(data.length).toBe(0); // detached: the worker owns them now
    await expect(trainVocabularyOffThread(new Float32Array(0), 64, { size: 3, seed: 1 })).rejects.toThrow(RangeError);
  });
});
