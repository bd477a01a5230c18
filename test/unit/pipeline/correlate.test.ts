import { beforeAll, describe, expect, it } from 'vitest';
import {
  correlate,
  correlateCandidate,
  correlateJoint,
  correlationFactor,
  correlationPoses,
  cropGrey,
  downsample,
  localPart,
  prepareCorrelation,
  prepareSignals,
  refinementOptions,
  wholeLimit,
  workingImage,
} from '../../../src/pipeline/rerank/correlate.ts';
import { applyAffine, iouPolygons, type Point, rigidAbout } from '../../../src/pipeline/rerank/geometry.ts';
import { markNoData, noDataMask } from '../../../src/pipeline/decode/nodata.ts';
import type { GreyImage } from '../../../src/pipeline/types.ts';
import { restyle, rotatedView, texturedImage } from '../../helpers/synthetic-images.ts';

const SIZE = 256;
const N = 6;

/** Another "modality" of the same scene: a different gain and offset plus pixel noise (NCC ignores the first). */

describe('dense correlation re-ranking (masked NCC over rotations and translations)', () => {
  const images: GreyImage[] = [];
  beforeAll(() => {
    for (let i = 0; i < N; i++) images.push(texturedImage(SIZE, SIZE, 7000 + i));
  });
  const candidates = () => images.map((image, i) => ({ entryId: i, image }));

  it('downsamples by block means and picks a factor that brings the query to the working size', () => {
    const img = { width: 4, height: 2, data: Float32Array.from([1, 3, 5, 7, 1, 3, 5, 7]) };
    expect(Array.from(downsample(img, 2).data)).toEqual([2, 6]);
    expect(correlationFactor({ width: 512, height: 512 })).toBe(8);
    expect(correlationFactor({ width: 154, height: 154 })).toBe(2);
    expect(correlationFactor({ width: 40, height: 30 })).toBe(1);
    expect(correlationFactor({ width: 154, height: 154 }, undefined, 512)).toBe(4); // bounded by the candidate's size
  });

  it.each([
    [0, 0, 0],
    [20, 14, -9],
    [-27, -10, 12],
  ])('a %s-degree, (%s, %s)-shifted, restyled view ranks its image first and recovers where it lies', (angle, sx, sy) => {
    const target = 2;
    const cx = SIZE / 2 + sx, cy = SIZE / 2 + sy;
    const w = 150, h = 130;
    const query = restyle(rotatedView(images[target], cx, cy, angle, w, h), angle + 100, 0.2, 0.5, 0.08);
    const res = correlate(query, candidates());
    expect(res[0].entryId).toBe(target);
    expect(res[0].score).toBeGreaterThan(0.8);
    expect(res[0].score - res[1].score).toBeGreaterThan(0.2);
    const truth: Point[] = ([[0, 0], [w, 0], [w, h], [0, h]] as Point[]).map((p) => applyAffine(rigidAbout(angle, w / 2, h / 2, cx - w / 2, cy - h / 2), p));
    expect(iouPolygons(res[0].footprint, truth)).toBeGreaterThan(0.8);
    expect(Math.abs(res[0].angle - angle)).toBeLessThanOrEqual(2.5);
  });

  it('sweeps rotations in 5-degree steps within the bound, and scales in 8 % steps that cover the tolerance', () => {
    expect(correlationPoses(30, 0)).toEqual({ angles: [-30, -25, -20, -15, -10, -5, 0, 5, 10, 15, 20, 25, 30], scales: [1] });
    expect(correlationPoses(12, 0).angles).toEqual([-12, -10, -5, 0, 5, 10, 12]);
    expect(correlationPoses(0, 0.03)).toEqual({ angles: [0], scales: [1] });
    const { scales } = correlationPoses(0, 0.1);
    expect(scales.map((s) => +s.toFixed(4))).toEqual([0.9259, 1, 1.08]);
    expect(correlationPoses(0, 0.3).scales).toHaveLength(7); // 1.08^3 = 1.26, within a half step of 1.3
  });

  it('matches a query shown 10 % larger far better with the scale sweep, and recovers its scale and footprint', () => {
    const target = 4, angle = 15, zoom = 1.1;
    const cx = SIZE / 2 + 6, cy = SIZE / 2 - 8;
    const w = 150, h = 130;
    const query = restyle(rotatedView(images[target], cx, cy, angle, w, h, zoom), 7, 0.2, 0.5, 0.08);
    const swept = correlate(query, candidates(), correlationPoses(30, 0.1));
    const fixed = correlate(query, candidates(), correlationPoses(30, 0));
    expect(swept[0].entryId).toBe(target);
    expect(Math.abs(swept[0].scale - 1 / zoom)).toBeLessThan(0.04);
    expect(fixed[0].scale).toBe(1);
    const score = (r: typeof swept) => r.find((m) => m.entryId === target)!.score;
    expect(score(swept) - score(fixed)).toBeGreaterThan(0.2); // measured 0.93 against 0.63
    const truth: Point[] = ([[0, 0], [w, 0], [w, h], [0, h]] as Point[]).map(([x, y]) => {
      const a = (angle * Math.PI) / 180, dx = (x - w / 2) / zoom, dy = (y - h / 2) / zoom;
      return [cx + Math.cos(a) * dx - Math.sin(a) * dy, cy + Math.sin(a) * dx + Math.cos(a) * dy] as Point;
    });
    expect(iouPolygons(swept[0].footprint, truth)).toBeGreaterThan(0.8);
  });

  it('scores a flat query as no match instead of dividing by zero', () => {
    const flat = { width: 100, height: 100, data: new Float32Array(100 * 100).fill(0.5) };
    const res = correlate(flat, candidates());
    expect(res.every((m) => m.score === -1)).toBe(true);
  });
});

describe('dense correlation with a query that has no data in part of its frame', () => {
  it('leaves the fill out: the view is found with the score and place it has without fill', () => {
    const images = Array.from({ length: N }, (_, i) => texturedImage(SIZE, SIZE, 7100 + i));
    const target = 3, angle = -12, cx = SIZE / 2 + 10, cy = SIZE / 2 - 6, w = 150, h = 130;
    const clean = restyle(rotatedView(images[target], cx, cy, angle, w, h), 11, 0.2, 0.5, 0.08);
    // a warp's black fill: one corner triangle and a band along the right side, 35 % of the frame
    const filled = { ...clean, data: clean.data.map((v, i) => ((i % w) + Math.floor(i / w) < 90 || i % w >= w - 25 ? 0 : v)) };
    const pixels = { ...filled, channels: 1 as const };
    const valid = noDataMask(pixels, 0, 16)!;
    expect(1 - valid.reduce((s, v) => s + v, 0) / valid.length).toBeGreaterThan(0.3);
    const cands = images.map((image, i) => ({ entryId: i, image }));
    const masked = correlate(markNoData(filled, valid), cands);
    const unmasked = correlate(filled, cands);
    const reference = correlate(clean, cands);
    const score = (r: ReturnType<typeof correlate<number>>) => r.find((m) => m.entryId === target)!.score;
    expect(masked[0].entryId).toBe(target);
    expect(score(masked)).toBeGreaterThan(score(reference) - 0.05);
    // measured: 0.87 masked, 0.88 without fill, 0.34 with the fill correlated (and another image ranked first)
    expect(score(masked) - score(unmasked)).toBeGreaterThan(0.3);
    const truth: Point[] = ([[0, 0], [w, 0], [w, h], [0, h]] as Point[]).map((p) => applyAffine(rigidAbout(angle, w / 2, h / 2, cx - w / 2, cy - h / 2), p));
    expect(iouPolygons(masked[0].footprint, truth)).toBeGreaterThan(0.8);
  });
});

describe('dense correlation with candidates that have no data (NaN) in part of their frame', () => {
  const images = Array.from({ length: N }, (_, i) => texturedImage(SIZE, SIZE, 7200 + i));
  const target = 1, angle = 18, cx = SIZE / 2 - 30, cy = SIZE / 2 + 4, w = 140, h = 120;
  const query = restyle(rotatedView(images[target], cx, cy, angle, w, h), 21, 0.2, 0.5, 0.08);
  /** The target with its columns x >= from replaced by `fill`. */
  const withFill = (from: number, fill: number) => ({ ...images[target], data: images[target].data.map((v, i) => (i % SIZE >= from ? fill : v)) });
  const cands = (t: GreyImage) => images.map((image, i) => ({ entryId: i, image: i === target ? t : image }));
  const own = (r: ReturnType<typeof correlate<number>>) => r.find((m) => m.entryId === target)!;

  it('gives the same peak, transform included, when the gap lies outside the match (the six-correlation form)', () => {
    // the view spans x ~ 20..210 of the target; columns from 236 on are no data
    const plain = own(correlate(query, cands(images[target])));
    const gapped = own(correlate(query, cands(withFill(236, Number.NaN))));
    expect(gapped.score).toBeCloseTo(plain.score, 6);
    gapped.transform.forEach((t, k) => expect(t).toBeCloseTo(plain.transform[k], 6));
  });

  it('leaves the candidate\'s fill out where it overlaps the query: the match keeps its score', () => {
    // columns from 150 on are the warp's black fill: about 30 % of the query's footprint
    const filled = correlate(query, cands(withFill(150, 0)));
    const gapped = correlate(query, cands(withFill(150, Number.NaN)));
    const clean = own(correlate(query, cands(images[target])));
    expect(gapped[0].entryId).toBe(target);
    // measured: 0.93 with the gap, 0.93 without fill, 0.44 with the fill correlated (and another image ranked first)
    expect(own(gapped).score).toBeGreaterThan(own(filled).score + 0.3);
    expect(own(gapped).score).toBeGreaterThan(clean.score - 0.1);
    const truth: Point[] = ([[0, 0], [w, 0], [w, h], [0, h]] as Point[]).map((p) => applyAffine(rigidAbout(angle, w / 2, h / 2, cx - w / 2, cy - h / 2), p));
    expect(iouPolygons(gapped[0].footprint, truth)).toBeGreaterThan(0.8);
  });
});

describe('joint correlation of several signals (the CoMIR and structure: one pose for both)', () => {
  const images = Array.from({ length: 2 }, (_, i) => texturedImage(SIZE, SIZE, 7400 + i));
  const cx = SIZE / 2 + 8, cy = SIZE / 2 - 5, w = 140, h = 120;
  const query = restyle(rotatedView(images[0], cx, cy, 10, w, h), 31, 0.2, 0.5, 0.08);
  /** images[0] moved by 60 px to the left (its right edge replicated): the same content at another place. */
  const moved = { ...images[0], data: images[0].data.map((_, i) => images[0].data[Math.floor(i / SIZE) * SIZE + Math.min(SIZE - 1, (i % SIZE) + 60)]) };
  const opts = { largestCandidate: SIZE, ...correlationPoses(20, 0) };
  const signals = prepareSignals(
    [
      { image: query, signal: 'value', weight: 0.5 },
      { image: query, signal: 'gradient', weight: 0.5 },
    ],
    opts,
  );
  const joint = (value: GreyImage, structure: GreyImage) =>
    correlateJoint(signals, { entryId: 0, width: SIZE, height: SIZE, images: [workingImage(value, signals[0].query.factor), workingImage(structure, signals[1].query.factor, 'gradient')] });
  const alone = (k: 0 | 1, img: GreyImage) =>
    correlateCandidate(signals[k].query, { entryId: 0, width: SIZE, height: SIZE, image: workingImage(img, signals[k].query.factor, k ? 'gradient' : 'value') }).score;

  it('scores a candidate whose signals agree on one place by their weighted sum there, and places the query', () => {
    const m = joint(images[0], images[0]);
    expect(m.score).toBeCloseTo(0.5 * alone(0, images[0]) + 0.5 * alone(1, images[0]), 1);
    expect(m.score).toBeGreaterThan(0.7);
    const truth: Point[] = ([[0, 0], [w, 0], [w, h], [0, h]] as Point[]).map((p) => applyAffine(rigidAbout(10, w / 2, h / 2, cx - w / 2, cy - h / 2), p));
    expect(iouPolygons(m.footprint, truth)).toBeGreaterThan(0.8);
  });

  it('does not add up peaks the signals find at different places (the sum of separate peaks would)', () => {
    // each signal alone matches as well as the true candidate, but the structure's match lies 60 px away
    expect(alone(1, moved)).toBeGreaterThan(alone(1, images[0]) - 0.05);
    const separate = 0.5 * alone(0, images[0]) + 0.5 * alone(1, moved);
    const together = joint(images[0], moved).score;
    expect(together).toBeLessThan(separate - 0.2);
    expect(together).toBeLessThan(joint(images[0], images[0]).score - 0.2);
  });

  it('refines at twice the resolution with the same rotations in half steps, and not where nothing gets finer', () => {
    // a 30 % crop of a 1024 px photograph among 1024 px candidates: 1/8 scale, refined at 1/4
    const coarse = { largestCandidate: 1024, ...correlationPoses(30, 0.1) };
    const fine = refinementOptions({ width: 307, height: 204 }, coarse)!;
    expect(correlationFactor({ width: 307, height: 204 }, undefined, 1024)).toBe(8);
    expect(correlationFactor({ width: 307, height: 204 }, fine.workingSize, 1024, fine.maxCandidateSize)).toBe(4);
    expect(fine.angles).toEqual(correlationPoses(30, 0, 2.5).angles);
    expect(fine.scales).toEqual(coarse.scales);
    // a 60 px query among 60 px candidates is already at full size
    expect(refinementOptions({ width: 60, height: 60 }, { largestCandidate: 60 })).toBeNull();
  });

  it('tries only the views near a given pose (a refinement), and finds the match there as the full sweep does', () => {
    const fine = prepareSignals([{ image: query, signal: 'value', weight: 1 }], { ...opts, ...correlationPoses(20, 0.1, 2.5) });
    const cand = (near?: { angle: number; scale: number }) => ({ entryId: 0, width: SIZE, height: SIZE, images: [workingImage(images[0], fine[0].query.factor)], ...(near ? { near } : {}) });
    const full = correlateJoint(fine, cand());
    const near = correlateJoint(fine, cand({ angle: 10, scale: 1 }));
    // the same peak (views are paired differently in the FFTs, hence the rounding)
    expect(near.score).toBeCloseTo(full.score, 9);
    expect([near.angle, near.scale, near.region]).toEqual([full.angle, full.scale, full.region]);
    expect(Math.abs(full.angle - 10)).toBeLessThanOrEqual(1.25);
    // near a wrong pose: only angles within 2.5 degrees of it and scales one step away are tried
    const wrong = correlateJoint(fine, cand({ angle: -15, scale: 1 }));
    expect(Math.abs(wrong.angle + 15)).toBeLessThanOrEqual(2.5);
    expect(wrong.score).toBeLessThan(full.score - 0.2);
  });

  it('is the single correlation with one signal of weight 1, and counts a flat signal at its floor (-1)', () => {
    const one = prepareCorrelation(query, opts);
    const cand = { entryId: 0, width: SIZE, height: SIZE, image: workingImage(images[0], one.factor) };
    expect(correlateJoint([{ query: one, weight: 1 }], { ...cand, images: [cand.image] })).toEqual(correlateCandidate(one, cand));
    const flat = { ...query, data: new Float32Array(query.data.length).fill(0.5) };
    const withFlat = prepareSignals(
      [
        { image: query, signal: 'value', weight: 0.7 },
        { image: flat, signal: 'gradient', weight: 0.3 },
      ],
      opts,
    );
    const m = correlateJoint(withFlat, { ...cand, images: [cand.image, workingImage(images[0], one.factor, 'gradient')] });
    expect(m.score).toBeCloseTo(0.7 * correlateCandidate(one, cand).score - 0.3, 6);
  });
});

describe('a candidate much larger than the rest, correlated around where the first stage placed the query', () => {
  it('correlates with the candidates of typical size whole, and those beyond twice the median around a point', () => {
    expect(wholeLimit([512, 500, 520, 10_000])).toBe(2 * 512);
    expect(wholeLimit([])).toBe(0);
  });

  it('takes the largest part the working scale allows, centred on the point and kept inside', () => {
    expect(localPart({ width: 4000, height: 3000 }, [2000, 1500], 4, 128)).toEqual({ x: 436, y: 311, width: 128, height: 128 });
    expect(localPart({ width: 4000, height: 3000 }, [10, 2990], 4, 128)).toEqual({ x: 0, y: 750 - 128, width: 128, height: 128 });
    expect(localPart({ width: 300, height: 3000 }, [150, 0], 4, 128)).toEqual({ x: 0, y: 0, width: 75, height: 128 });
  });

  it('finds a rotated view in a part of a large candidate, with the transform in the whole candidate', () => {
    const big = texturedImage(1024, 1024, 4242);
    const view = rotatedView(big, 700, 300, 15, 160, 160);
    const q = prepareCorrelation(view, { largestCandidate: 256 });
    const f = q.factor;
    const part = localPart(big, [680, 320], f);
    const match = correlateJoint([{ query: q, weight: 1 }], {
      entryId: 1,
      images: [cropGrey(workingImage(big, f), part)],
      width: big.width,
      height: big.height,
      offset: { x: part.x * f, y: part.y * f },
    });
    expect(match.score).toBeGreaterThan(0.8);
    const [x, y] = applyAffine(match.transform, [79.5, 79.5]);
    expect(Math.hypot(x - 700, y - 300)).toBeLessThan(2 * f);
    expect(match.region.x).toBeGreaterThan(500);
  });
});
