/**
 * How sure a ranked list's matches are. A match's **margin** is its score minus the best score of any other match
 * in the list (for the top match: the lead over the second; for the others negative). A wrong top-1 of a
 * cross-modal correlation scores like a right one (0.240, 0.235, 0.233, 0.232 in issue 17), but it leads by little:
 * the margin, not the score, separates right from wrong. The margin becomes a probability by a logistic curve fitted
 * on the benchmarks' top-1 answers (bench/calibrate-confidence.ts), per model pair (manifest `search.confidence`).
 */

/** A logistic map from margin to the probability that a top-1 answer is right, and the threshold to trust one. */
export interface ConfidenceModel {
  /** The margin at which a top-1 answer is right half the time. */
  readonly midpoint: number;
  /** The margin's scale: confidence = 1 / (1 + exp(-(margin - midpoint) / scale)). */
  readonly scale: number;
  /**
   * Confidence at or above which a top-1 answer may be taken without review: the lowest one whose top-1 answers
   * were right at least 98 % of the time on the calibration runs (issue 17's precision target).
   */
  readonly threshold: number;
}

/**
 * The shipped model pairs' calibration (bench/calibrate-confidence.ts over their default searches; bench/results/
 * confidence.md). Kept here, not in models/<pair>/manifest.json, because the manifest's checksum is the model's
 * version, which names its representation space: a recalibration there would make every stored image's vectors stale.
 * A manifest's `search.confidence` (a model trained later) takes precedence.
 */
export const CALIBRATED: Readonly<Record<string, ConfidenceModel>> = Object.freeze({
  // 48 NIR->RGB answers (24 whole, 24 crops) at N = 160: wrong top-1s led by 0.010-0.045, right ones by 0.016-0.457
  'vis-nir': Object.freeze({ midpoint: 0.038, scale: 0.027, threshold: 0.837 }),
  // 104 answers, both directions (26 whole cores, 78 crops) among 31 cores
  'shg-bf': Object.freeze({ midpoint: 0.058, scale: 0.026, threshold: 0.982 }),
});

/** For lists nobody has calibrated: the fit over both shipped pairs' samples together (bench/results/confidence.md). */
export const DEFAULT_CONFIDENCE: ConfidenceModel = Object.freeze({ midpoint: 0.054, scale: 0.024, threshold: 0.684 });

/** Each match's margin over the best of the others (a lone match: over 0, an uncorrelated score). Scores best first. */
export function margins(scores: readonly number[]): number[] {
  return scores.map((s, i) => s - (i === 0 ? (scores.length > 1 ? scores[1] : 0) : scores[0]));
}

/** The confidence of every match of a ranked list (scores best first), in [0, 1]. */
export function confidences(scores: readonly number[], model: ConfidenceModel = DEFAULT_CONFIDENCE): number[] {
  return margins(scores).map((m) => logistic(m, model));
}

/** The margin whose confidence is `confidence` (the inverse of logistic). */
export function marginAt(confidence: number, model: Pick<ConfidenceModel, 'midpoint' | 'scale'>): number {
  return model.midpoint + model.scale * Math.log(confidence / (1 - confidence));
}

export function logistic(margin: number, model: Pick<ConfidenceModel, 'midpoint' | 'scale'>): number {
  return 1 / (1 + Math.exp(-(margin - model.midpoint) / model.scale));
}

/**
 * Fits the logistic curve to (margin, right?) pairs by maximum likelihood (Newton's method on the two parameters
 * a = 1/scale, b = -midpoint/scale, with a small ridge so that separable data stay finite).
 */
export function fitConfidence(samples: readonly { margin: number; right: boolean }[], ridge = 1e-3): Pick<ConfidenceModel, 'midpoint' | 'scale'> {
  const none = { midpoint: Infinity, scale: 1 };
  const mean = (l: readonly { margin: number }[]) => l.reduce((s, x) => s + x.margin, 0) / l.length;
  const right = samples.filter((s) => s.right), wrong = samples.filter((s) => !s.right);
  // a larger lead must go with right answers more often, or the margin says nothing
  if (right.length > 0 && wrong.length > 0 && mean(right) <= mean(wrong)) return none;
  let a = 10, b = 0;
  for (let it = 0; it < 100; it++) {
    let ga = -ridge * a, gb = -ridge * b, haa = ridge, hab = 0, hbb = ridge;
    for (const { margin: x, right } of samples) {
      const p = 1 / (1 + Math.exp(-(a * x + b)));
      const e = (right ? 1 : 0) - p;
      ga += e * x;
      gb += e;
      const w = p * (1 - p);
      haa += w * x * x;
      hab += w * x;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    a += da;
    b += db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  // a <= 0 would say a larger lead is worse: no fit
  if (!(a > 0) || !Number.isFinite(b)) return none;
  return { midpoint: -b / a, scale: 1 / a };
}

/**
 * The lowest confidence threshold whose top-1 answers (confidence >= threshold) are right at least `precision` of the
 * time, with the precision and coverage (fraction of queries at or above it) it gives. Coverage 0 when none is.
 */
export function chooseThreshold(samples: readonly { confidence: number; right: boolean }[], precision = 0.98): { threshold: number; precision: number; coverage: number } {
  const sorted = [...samples].sort((x, y) => y.confidence - x.confidence);
  let best = { threshold: 1, precision: 1, coverage: 0 };
  let right = 0;
  for (let i = 0; i < sorted.length; i++) {
    right += sorted[i].right ? 1 : 0;
    // a threshold lies between distinct confidences only
    if (i + 1 < sorted.length && sorted[i + 1].confidence === sorted[i].confidence) continue;
    if (right / (i + 1) >= precision) best = { threshold: sorted[i].confidence, precision: right / (i + 1), coverage: (i + 1) / sorted.length };
  }
  return best;
}

/** Precision and coverage of top-1 answers at a threshold (precision 1 when none is at or above it). */
export function atThreshold(samples: readonly { confidence: number; right: boolean }[], threshold: number): { precision: number; coverage: number; n: number } {
  const above = samples.filter((s) => s.confidence >= threshold);
  return { precision: above.length ? above.filter((s) => s.right).length / above.length : 1, coverage: samples.length ? above.length / samples.length : 0, n: samples.length };
}
