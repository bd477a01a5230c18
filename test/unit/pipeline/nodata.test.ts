import { describe, expect, it } from 'vitest';
import { noDataMask } from '../../../src/pipeline/decode/nodata.ts';
import type { PlanarImage } from '../../../src/pipeline/types.ts';

const W = 40, H = 30;
/** A mid-grey RGB image with the given pixels (x, y, per-channel values) set. */
function image(set: (x: number, y: number) => [number, number, number] | null): PlanarImage {
  const data = new Float32Array(W * H * 3).fill(0.5);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const v = set(x, y);
    if (v) data.set(v, (y * W + x) * 3);
  }
  return { width: W, height: H, channels: 3, data };
}
const invalid = (m: Uint8Array) => [...m.keys()].filter((i) => m[i] === 0);

describe('no-data mask (a fill value, opened by a 5 x 5 square)', () => {
  it('marks a fill region touching the border exactly, and nothing else', () => {
    // a warp's corner fill: the triangle x + y < 12, plus a 6-column band on the right
    const m = noDataMask(image((x, y) => (x + y < 12 || x >= W - 6 ? [0, 0, 0] : null)), 0, 16)!;
    const want = [];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (x >= W - 6) want.push(y * W + x);
    // the opening trims the triangle's tip to the pixels that a 5 x 5 block of fill covers
    const tri = invalid(m).filter((i) => i % W < W - 6);
    expect(invalid(m).filter((i) => i % W >= W - 6)).toEqual(want);
    expect(tri.length).toBeGreaterThan(40);
    expect(tri.every((i) => (i % W) + Math.floor(i / W) < 12)).toBe(true);
    expect(m[0]).toBe(0); // the corner pixel itself
  });

  it('keeps small dark specks and pixels that match the fill in only some channels as data', () => {
    const img = image((x, y) => {
      if (x >= 10 && x < 14 && y >= 10 && y < 14) return [0, 0, 0]; // 4 x 4: below the opening's side
      if (x === 30 && y < 20) return [0, 0, 0]; // a one-pixel line
      if (x < 8 && y >= 20) return [0, 0.2, 0]; // dark in R and B only
      return null;
    });
    expect(noDataMask(img, 0, 16)).toBeNull();
  });

  it('compares within half a sample step of the bit depth, in every channel', () => {
    const img = image((x) => (x < 8 ? [0.001, 0, 0.0019] : null)); // below half an 8-bit step (0.00196)
    expect(noDataMask(img, 0, 16)).toBeNull();
    expect(invalid(noDataMask(img, 0, 8)!)).toHaveLength(8 * H);
  });
});
