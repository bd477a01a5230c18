import { describe, expect, it } from 'vitest';
import { denseSurf, gridCount, SURF_DIM, type FeatureSet } from '../../../src/pipeline/features/surf.ts';
import type { GreyImage } from '../../../src/pipeline/types.ts';
import { rotate90, texturedImage } from '../../helpers/synthetic-images.ts';

function constImage(w: number, h: number, f: (x: number, y: number) => number): GreyImage {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y);
  return { width: w, height: h, data };
}

const row = (f: FeatureSet, i: number): Float32Array => f.descriptors.subarray(i * SURF_DIM, (i + 1) * SURF_DIM);
const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + v * b[i], 0);

describe('denseSurf grid (reference 1.2)', () => {
  it('256x256 gives 32x32 points x 4 scales = 4096 descriptors; 834 gives 104 per side', () => {
    const f = denseSurf(constImage(256, 256, (x, y) => ((x * 7 + y * 3) % 17) / 17));
    expect(f.count).toBe(4096);
    expect([f.gridWidth, f.gridHeight, f.nScales]).toEqual([32, 32, 4]);
    expect(f.descriptors.length).toBe(4096 * 64);
    // 0-based pixel 3 = MATLAB 4; last = 251 (MATLAB 252)
    expect(f.x[0]).toBe(3);
    expect(f.x[(31) * 4]).toBe(251);
    // index = ((gy * gw + gx) * nScales + s)
    const i = ((5 * 32 + 7) * 4 + 2);
    expect([f.x[i], f.y[i], f.scaleIndex[i]]).toEqual([3 + 7 * 8, 3 + 5 * 8, 2]);
    expect(gridCount(834)).toBe(104);
    expect(gridCount(3)).toBe(0);
    expect(gridCount(4)).toBe(1);
  });

  it('descriptors are unit norm and strength is their variance (N-1)', () => {
    const f = denseSurf(texturedImage(64, 64, 3));
    for (const i of [0, 17, f.count - 1]) {
      const d = row(f, i);
      expect(dot(d, d)).toBeCloseTo(1, 5);
      const mean = d.reduce((a, b) => a + b, 0) / 64;
      const v = d.reduce((a, b) => a + (b - mean) ** 2, 0) / 63;
      expect(f.strength[i]).toBeCloseTo(v, 6);
    }
  });

  it('a flat image gives zero descriptors with strength 0', () => {
    const f = denseSurf(constImage(40, 40, () => 0.5));
    expect(f.count).toBe(5 * 5 * 4);
    expect(f.descriptors.every((v) => v === 0)).toBe(true);
    expect(f.strength.every((v) => v === 0)).toBe(true);
  });
});

describe('denseSurf against Bay et al. 2008 definitions', () => {
  it('vertical dark->bright step edge: sum dx = sum |dx| >= 0 everywhere, > 0 near the edge, dy = 0', () => {
    const img = constImage(64, 64, (x) => (x < 35 ? 0.2 : 0.8));
    const f = denseSurf(img);
    // point at x = 35 (grid 4), y = 27, scale 0: window 32 px straddles the edge at x = 35
    const i = ((3 * f.gridWidth + 4) * 4 + 0);
    expect(f.x[i]).toBe(35);
    const d = row(f, i);
    let posDx = 0;
    for (let r = 0; r < 16; r++) {
      const [sdx, sadx, sdy, sady] = [d[4 * r], d[4 * r + 1], d[4 * r + 2], d[4 * r + 3]];
      expect(sdx).toBeGreaterThanOrEqual(0);
      expect(sdx).toBeCloseTo(sadx, 6);
      expect(Math.abs(sdy)).toBeLessThan(1e-6);
      expect(sady).toBeLessThan(1e-6);
      if (sdx > 0.05) posDx++;
    }
    // the edge crosses the middle sub-region columns (sx = 1, 2) of all 4 rows
    expect(posDx).toBeGreaterThanOrEqual(4);
    // bright->dark flips the sign of sum dx only
    const g = denseSurf(constImage(64, 64, (x) => (x < 35 ? 0.8 : 0.2)));
    const e = row(g, i);
    for (let r = 0; r < 16; r++) {
      expect(e[4 * r]).toBeCloseTo(-d[4 * r], 5);
      expect(e[4 * r + 1]).toBeCloseTo(d[4 * r + 1], 5);
    }
  });

  it('horizontal edge gives dy sums and dx = 0', () => {
    const f = denseSurf(constImage(64, 64, (_x, y) => (y < 35 ? 0.1 : 0.9)));
    const i = ((4 * f.gridWidth + 3) * 4 + 1);
    const d = row(f, i);
    let sdy = 0;
    for (let r = 0; r < 16; r++) {
      expect(Math.abs(d[4 * r])).toBeLessThan(1e-6);
      sdy += d[4 * r + 2];
    }
    expect(sdy).toBeGreaterThan(0.5);
  });

  it('brightness scaling and adding a constant leave the descriptors unchanged', () => {
    const img = texturedImage(96, 96, 11);
    const f = denseSurf(img);
    const scaled = denseSurf({ ...img, data: img.data.map((v) => v * 0.37) });
    const shifted = denseSurf({ ...img, data: img.data.map((v) => v + 0.25) });
    let maxScaled = 0, maxShifted = 0;
    for (let k = 0; k < f.descriptors.length; k++) {
      maxScaled = Math.max(maxScaled, Math.abs(f.descriptors[k] - scaled.descriptors[k]));
      maxShifted = Math.max(maxShifted, Math.abs(f.descriptors[k] - shifted.descriptors[k]));
    }
    expect(maxScaled).toBeLessThan(1e-4);
    expect(maxShifted).toBeLessThan(1e-3);
    // ...but a different image does change them
    const other = denseSurf(texturedImage(96, 96, 12));
    let maxOther = 0;
    for (let k = 0; k < f.descriptors.length; k++) maxOther = Math.max(maxOther, Math.abs(f.descriptors[k] - other.descriptors[k]));
    expect(maxOther).toBeGreaterThan(0.1);
  });

  // 263 = 8*32+7: with start 3 the grid (3..259) maps onto itself under x -> 262 - x, so grid points of the
  // 90-degree rotated image coincide with rotated grid points of the original.
  const N = 263;
  const base = texturedImage(N, N, 5);
  const rot = rotate90(base); // pixel (x, y) -> (N-1-y, x)
  const corresponding = (f: FeatureSet, i: number): number => {
    const gx = Math.round((f.x[i] - 3) / 8), gy = Math.round((f.y[i] - 3) / 8);
    const gx2 = f.gridWidth - 1 - gy, gy2 = gx; // (x, y) -> (N-1-y, x)
    return (gy2 * f.gridWidth + gx2) * f.nScales + f.scaleIndex[i];
  };

  it('upright: a 90-degree rotation permutes sub-regions and maps (dx, |dx|, dy, |dy|) -> (-dy, |dy|, dx, |dx|)', () => {
    const f = denseSurf(base);
    const g = denseSurf(rot);
    let maxErr = 0, directSim = 0;
    for (let i = 0; i < f.count; i += 7) {
      const d = row(f, i);
      const e = row(g, corresponding(f, i));
      for (let sy = 0; sy < 4; sy++) {
        for (let sx = 0; sx < 4; sx++) {
          const a = (sy * 4 + sx) * 4;
          const b = (sx * 4 + (3 - sy)) * 4; // (sx, sy) -> (3 - sy, sx)
          maxErr = Math.max(maxErr, Math.abs(e[b] + d[a + 2]), Math.abs(e[b + 1] - d[a + 3]),
            Math.abs(e[b + 2] - d[a]), Math.abs(e[b + 3] - d[a + 1]));
        }
      }
      directSim += dot(d, e);
    }
    expect(maxErr).toBeLessThan(1e-4);
    // upright descriptors of the same structure do NOT match directly after rotation
    expect(directSim / Math.ceil(f.count / 7)).toBeLessThan(0.8);
  });

  it('oriented: a 90-degree rotation leaves descriptors (nearly) unchanged and turns the orientation by 90 degrees', () => {
    const f = denseSurf(base, { oriented: true });
    const g = denseSurf(rot, { oriented: true });
    let sim = 0, n = 0, angleOk = 0;
    for (let i = 0; i < f.count; i += 5) {
      const j = corresponding(f, i);
      sim += dot(row(f, i), row(g, j));
      n++;
      let dA = g.orientation![j] - f.orientation![i] - Math.PI / 2;
      dA = Math.atan2(Math.sin(dA), Math.cos(dA));
      if (Math.abs(dA) < 1e-3) angleOk++;
    }
    expect(sim / n).toBeGreaterThan(0.97);
    expect(angleOk / n).toBeGreaterThan(0.97);
  });
});
