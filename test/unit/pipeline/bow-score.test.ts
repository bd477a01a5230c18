import { describe, expect, it } from 'vitest';
import { bowFromWords, bowTotal, computeIdf, deserializeWordMap, documentFrequencies, MATLAB_EPS, serializeWordMap, windowBow, windowGridRange, type WordMap } from '../../../src/pipeline/index/bow.ts';
import { indexStatistics, paperScore, prepareQuery, rankBruteForce, PAPER_SCORING } from '../../../src/pipeline/index/score.ts';
import type { BowVector } from '../../../src/pipeline/types.ts';

const bow = (pairs: Record<number, number>): BowVector => {
  const ids = Object.keys(pairs).map(Number).sort((a, b) => a - b);
  return { ids: Uint32Array.from(ids), counts: Float32Array.from(ids.map((i) => pairs[i])) };
};

describe('bow', () => {
  it('bowFromWords counts and sorts (dense and sparse paths agree)', () => {
    const words = [5, 3, 5, 9, 3, 5, 0];
    const a = bowFromWords(words, 10); // dense path
    const b = bowFromWords(words, 1000); // sort path
    for (const v of [a, b]) {
      expect([...v.ids]).toEqual([0, 3, 5, 9]);
      expect([...v.counts]).toEqual([1, 2, 3, 1]);
      expect(bowTotal(v)).toBe(7);
    }
    expect(() => bowFromWords([10], 10)).toThrow(RangeError);
    expect(bowFromWords([], 5).ids.length).toBe(0);
  });

  it('windowBow counts exactly the grid points inside the pixel window, all scales', () => {
    // 4x3 grid, 2 scales, start 3, step 8: points x = 3, 11, 19, 27; y = 3, 11, 19
    const words = new Uint16Array(4 * 3 * 2);
    for (let gy = 0; gy < 3; gy++) for (let gx = 0; gx < 4; gx++) for (let s = 0; s < 2; s++) words[(gy * 4 + gx) * 2 + s] = gy * 10 + gx + 100 * s;
    const map: WordMap = { gridWidth: 4, gridHeight: 3, nScales: 2, step: 8, start: 3, words };
    // window [10, 20) x [0, 12): x in {11, 19}, y in {3, 11}
    expect(windowGridRange(map, 10, 0, 10, 12)).toEqual({ gx0: 1, gx1: 3, gy0: 0, gy1: 2 });
    const b = windowBow(map, 10, 0, 10, 12);
    expect([...b.ids]).toEqual([1, 2, 11, 12, 101, 102, 111, 112]);
    expect(bowTotal(b)).toBe(8);
    // x = 11 is excluded from [0, 11) and included in [11, 12)
    expect(windowGridRange(map, 0, 0, 11, 30).gx1).toBe(1);
    expect(windowGridRange(map, 11, 0, 1, 30)).toMatchObject({ gx0: 1, gx1: 2 });
    // a window off the grid is empty
    expect(windowBow(map, 100, 100, 10, 10).ids.length).toBe(0);
    const round = deserializeWordMap(serializeWordMap(map));
    expect(round).toMatchObject({ gridWidth: 4, gridHeight: 3, nScales: 2, step: 8, start: 3 });
    expect([...round.words]).toEqual([...words]);
  });

  it('idf = ln(N / (n_w + eps)) as MATLAB', () => {
    const df = documentFrequencies([bow({ 0: 1, 1: 2 }), bow({ 1: 1 })], 3);
    expect([...df]).toEqual([1, 2, 0]);
    const idf = computeIdf(df, 2);
    expect(idf[0]).toBeCloseTo(Math.log(2), 6);
    expect(idf[1]).toBeCloseTo(0, 6);
    expect(idf[2]).toBeCloseTo(Math.log(2 / MATLAB_EPS), 3);
  });
});

describe('paper scoring (reference 1.3)', () => {
  it('matches a hand computation of tf-idf cosine over the valid words', () => {
    // 4 documents, words 0..3. n = [1, 2, 3, 4] -> word 3 (4/4 = 100% > 90%) is a stop word.
    const docs = [bow({ 0: 2, 1: 1, 2: 1, 3: 1 }), bow({ 1: 3, 2: 1, 3: 2 }), bow({ 2: 1, 3: 1 }), bow({ 3: 5 })];
    const stats = indexStatistics(documentFrequencies(docs, 4), 4);
    const q = bow({ 0: 1, 2: 2, 3: 1 });
    const idf = [0, 1, 2, 3].map((w) => Math.log(4 / ([1, 2, 3, 4][w] + MATLAB_EPS)));
    const x = (b: Record<number, number>): Record<number, number> => {
      const tot = Object.values(b).reduce((a, c) => a + c, 0);
      const v: Record<number, number> = {};
      for (const k in b) v[k] = (b[k] / tot) * idf[+k];
      const n = Math.sqrt(Object.values(v).reduce((a, c) => a + c * c, 0));
      for (const k in v) v[k] /= n;
      return v;
    };
    const xq = x({ 0: 1, 2: 2, 3: 1 });
    const x0 = x({ 0: 2, 1: 1, 2: 1, 3: 1 });
    const expected0 = xq[0] * x0[0] + xq[2] * x0[2]; // word 3 excluded
    const r0 = paperScore(q, docs[0], stats)!;
    expect(r0.score).toBeCloseTo(expected0, 6);
    expect(r0.nWords).toBe(2);
    // doc 3 shares only the stop word: not returned
    expect(paperScore(q, docs[3], stats)).toBeNull();
    const ranked = rankBruteForce(q, docs.map((b, i) => ({ entryId: i, bow: b })), 4);
    expect(ranked.map((r) => r.entryId)).toEqual([0, 2, 1]);
    expect(ranked[0].score).toBeCloseTo(expected0, 6);
  });

  it('a word in 1 of 134 images is ignored (1/134 < 1%) and MatchThreshold drops weak candidates', () => {
    const N = 134;
    const df = new Uint32Array(300);
    df[0] = 1; // 0.0075: ignored
    for (let w = 1; w < 300; w++) df[w] = 10;
    const stats = indexStatistics(df, N);
    const q = prepareQuery(bow(Object.fromEntries(Array.from({ length: 300 }, (_, w) => [w, 1]))), stats);
    expect(q.words.length).toBe(299);
    expect(q.words[0]).toBe(1);
    expect(q.minShared).toBeCloseTo(2.99, 6);
    // an entry sharing 2 valid words (< 2.99) is dropped; with 3 it is kept
    expect(paperScore(bow(Object.fromEntries(Array.from({ length: 300 }, (_, w) => [w, 1]))), bow({ 0: 5, 1: 1, 2: 1 }), stats)).toBeNull();
    expect(paperScore(bow(Object.fromEntries(Array.from({ length: 300 }, (_, w) => [w, 1]))), bow({ 1: 1, 2: 1, 3: 1 }), stats)?.nWords).toBe(3);
    expect(PAPER_SCORING.wordFrequencyRange).toEqual([0.01, 0.9]);
  });
});
