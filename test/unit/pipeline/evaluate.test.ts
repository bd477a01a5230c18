import { describe, expect, it } from 'vitest';
import { accuracyAtK, accuracyTable, rankOf, substringRank, wilsonInterval } from '../../../src/pipeline/evaluate.ts';
import { splitImageIntoPatches, windowOffsets } from '../../../src/pipeline/rerank/rerank.ts';

describe('evaluate (reference 1.6)', () => {
  it('exact id matching: 1B_B1 is not a hit for query 1B_B10 (the reference bug is)', () => {
    const ranked = ['1B_B1', '2B_D4', '1B_B10'];
    expect(rankOf(ranked, '1B_B10')).toBe(3);
    expect(substringRank(ranked, '1B_B10')).toBe(1); // what EvalMatches.m would report
    expect(rankOf(ranked, '1B_B1')).toBe(1);
    expect(rankOf(ranked, '1B_A1')).toBe(0);
  });

  it('Acc@k and the Wilson interval', () => {
    const ranks = [1, 2, 0, 11, 5, 1];
    expect(accuracyAtK(ranks, 1)).toBeCloseTo(2 / 6, 12);
    expect(accuracyAtK(ranks, 5)).toBeCloseTo(4 / 6, 12);
    expect(accuracyAtK(ranks, 10)).toBeCloseTo(4 / 6, 12);
    expect(accuracyAtK([], 1)).toBe(0);
    // Wilson 95% for 83/134 (the paper's 62.0%): about [0.535, 0.697] (hand-computed)
    const w = wilsonInterval(83, 134);
    expect(w.estimate).toBeCloseTo(0.6194, 4);
    expect(w.lower).toBeCloseTo(0.5350, 3);
    expect(w.upper).toBeCloseTo(0.6972, 3);
    expect(wilsonInterval(0, 10).lower).toBe(0);
    expect(wilsonInterval(10, 10).upper).toBeCloseTo(1, 9);
    expect(accuracyTable(ranks, [1, 15]).map((r) => r.successes)).toEqual([2, 5]);
  });
});

describe('patch offsets (reference 1.5)', () => {
  it('834 / 256 -> 0, 192, 384, 578 (MATLAB 1, 193, 385, 579)', () => {
    expect(splitImageIntoPatches(834, 256)).toEqual([0, 192, 384, 578]);
    expect(splitImageIntoPatches(256, 256)).toEqual([0]);
    expect(splitImageIntoPatches(512, 256)).toEqual([0, 256]);
    expect(splitImageIntoPatches(600, 256)).toEqual([0, 171, 344]);
  });
  it('window offsets cover the far border', () => {
    expect(windowOffsets(834, 256, 64)).toEqual([0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 578]);
    expect(windowOffsets(200, 256, 64)).toEqual([0]);
  });
});
