import { describe, expect, it } from 'vitest';
import { atThreshold, chooseThreshold, confidences, fitConfidence, logistic, margins } from '../../../src/pipeline/rerank/confidence.ts';
import { rng } from '../../helpers/synthetic-images.ts';

describe('match confidence from the margin over the best other match', () => {
  it('the top match leads by its margin over the second; the others trail the top', () => {
    expect(margins([0.5, 0.3, 0.2])).toEqual([expect.closeTo(0.2, 12), expect.closeTo(-0.2, 12), expect.closeTo(-0.3, 12)]);
    expect(margins([0.4])).toEqual([0.4]);
    expect(margins([])).toEqual([]);
  });

  it('a wrong-looking top-1 (issue 17: 0.240, 0.235, 0.233, 0.232) is far less sure than a clear one', () => {
    const model = { midpoint: 0.03, scale: 0.01, threshold: 0.9 };
    const [unsure] = confidences([0.24, 0.235, 0.233, 0.232], model);
    const [sure, second] = confidences([0.45, 0.2, 0.19], model);
    expect(unsure).toBeLessThan(0.1);
    expect(sure).toBeGreaterThan(0.99);
    expect(second).toBeLessThan(1e-6);
  });

  it('fits the logistic curve that generated the answers, and chooses the lowest threshold with the precision asked', () => {
    const r = rng(5);
    const truth = { midpoint: 0.05, scale: 0.02 };
    const samples = Array.from({ length: 4000 }, () => {
      const margin = r() * 0.2;
      return { margin, right: r() < logistic(margin, truth) };
    });
    const fit = fitConfidence(samples);
    expect(fit.midpoint).toBeCloseTo(0.05, 2);
    expect(fit.scale).toBeGreaterThan(0.015);
    expect(fit.scale).toBeLessThan(0.025);
    const scored = samples.map((s) => ({ confidence: logistic(s.margin, fit), right: s.right }));
    const t = chooseThreshold(scored, 0.98);
    const at = atThreshold(scored, t.threshold);
    expect(at.precision).toBeGreaterThanOrEqual(0.98);
    expect(at.coverage).toBeCloseTo(t.coverage, 12);
    // one step lower lets in answers that break the precision
    const lower = scored.map((s) => s.confidence).filter((c) => c < t.threshold).sort((a, b) => b - a)[0];
    expect(atThreshold(scored, lower).precision).toBeLessThan(0.98);
  });

  it('a margin that does not predict rightness gives no usable fit', () => {
    const r = rng(9);
    const samples = Array.from({ length: 500 }, () => ({ margin: r(), right: r() < 0.5 }));
    const fit = fitConfidence(samples.map((s) => ({ ...s, right: s.margin < 0.5 })));
    expect(fit.midpoint).toBe(Infinity);
  });
});
