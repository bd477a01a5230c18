import { describe, expect, it } from 'vitest';
import { _cornerOffsetForTest, denseSurf, type DenseGridOptions } from '../../../src/pipeline/features/surf.ts';
import type { GreyImage } from '../../../src/pipeline/types.ts';
import { texturedImage } from '../../helpers/synthetic-images.ts';
import { denseSurf as frozenSurf } from './frozen/surf-v0.ts';

/**
 * The optimised dense SURF (separable, shared horizontal pass, Haar responses only where samples land) must give the
 * descriptors of the straightforward implementation it replaced (frozen copy in ./frozen/surf-v0.ts): within 1e-5 per
 * value (measured: bit-identical Float32 output on these images), same strengths and orientations.
 */
function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function compare(img: GreyImage, opts: DenseGridOptions): void {
  const a = frozenSurf(img, opts), b = denseSurf(img, opts);
  expect([b.count, b.gridWidth, b.gridHeight, b.nScales]).toEqual([a.count, a.gridWidth, a.gridHeight, a.nScales]);
  expect(maxDiff(a.descriptors, b.descriptors)).toBeLessThan(1e-5);
  expect(maxDiff(a.strength, b.strength)).toBeLessThan(1e-6);
  expect([...b.x]).toEqual([...a.x]);
  expect([...b.y]).toEqual([...a.y]);
  expect([...b.scaleIndex]).toEqual([...a.scaleIndex]);
  if (opts.oriented) expect(maxDiff(a.orientation!, b.orientation!)).toBeLessThan(1e-5);
}

describe('denseSurf equals the frozen reference implementation', () => {
  it('upright, default grid, square and non-square images (borders included)', () => {
    compare(texturedImage(160, 160, 21), {});
    compare(texturedImage(97, 131, 22), {});
    compare(texturedImage(8, 300, 23), {});
  });

  it('upright, other grids and scales (non-multiples of 1.6, scale < 1, step 5, start 0)', () => {
    compare(texturedImage(120, 90, 24), { step: 5, start: 0, scales: [0.7, 1.2, 2.5, 7] });
    compare(texturedImage(70, 70, 25), { step: 13, start: 6, scales: [3.3] });
  });

  it('oriented', () => {
    compare(texturedImage(96, 112, 26), { oriented: true });
    compare(texturedImage(60, 60, 27), { oriented: true, step: 5, scales: [1.3, 4.1] });
  });

  it('the truncation-based corner offset equals the floor-based one', () => {
    const { exact, fast } = _cornerOffsetForTest;
    const qs = [0, -0, 1, -1, 0.5, -0.5, 1e-12, -1e-12, 2.9999999999999996, -2.9999999999999996, 15.2, -15.2, 12, -12];
    for (let i = -2000; i <= 2000; i++) qs.push(i * 0.0371, (i - 9.5) * 1.6, (i - 9.5) * 3.2, (i - 9.5) * 6.4);
    for (const q of qs) expect(fast(q)).toBe(exact(q) + 0); // -0 and 0 index the same corner
  });
});
