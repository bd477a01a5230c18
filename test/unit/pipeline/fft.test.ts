import { describe, expect, it } from 'vitest';
import { correlatePair, fft2, realPairSpectra, type Spectrum } from '../../../src/pipeline/rerank/fft.ts';
import { rng } from '../../helpers/synthetic-images.ts';

function randomReal(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => r() * 2 - 1);
}

/** Direct DFT of a real w x h image zero-padded to W x H. */
function dft(a: Float64Array, w: number, h: number, W: number, H: number): Spectrum {
  const re = new Float64Array(W * H), im = new Float64Array(W * H);
  for (let ky = 0; ky < H; ky++) {
    for (let kx = 0; kx < W; kx++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const t = -2 * Math.PI * ((kx * x) / W + (ky * y) / H);
          re[ky * W + kx] += a[y * w + x] * Math.cos(t);
          im[ky * W + kx] += a[y * w + x] * Math.sin(t);
        }
      }
    }
  }
  return { width: W, height: H, re, im };
}

describe('fft', () => {
  it('inverse(forward(x)) = x', () => {
    const re = randomReal(32 * 16, 1), im = randomReal(32 * 16, 2);
    const s = { width: 32, height: 16, re: re.slice(), im: im.slice() };
    fft2(s);
    expect(Math.abs(s.re[5] - re[5])).toBeGreaterThan(1e-3); // it did transform
    fft2(s, true);
    s.re.forEach((v, i) => expect(v).toBeCloseTo(re[i], 10));
    s.im.forEach((v, i) => expect(v).toBeCloseTo(im[i], 10));
  });

  it('two real images packed in one complex FFT give each one its own DFT', () => {
    const a = randomReal(5 * 3, 3), b = randomReal(5 * 3, 4);
    const [A, B] = realPairSpectra(a, b, 5, 3, 8, 4);
    const [A0] = realPairSpectra(a, null, 5, 3, 8, 4);
    for (const [got, want] of [[A, dft(a, 5, 3, 8, 4)], [B, dft(b, 5, 3, 8, 4)], [A0, dft(a, 5, 3, 8, 4)]] as const) {
      got.re.forEach((v, i) => expect(v).toBeCloseTo(want.re[i], 9));
      got.im.forEach((v, i) => expect(v).toBeCloseTo(want.im[i], 9));
    }
  });

  it('correlatePair computes two cyclic cross-correlations sum_x p(x) q(x + u)', () => {
    const W = 8, H = 8;
    const p1 = randomReal(W * H, 5), q1 = randomReal(W * H, 6), p2 = randomReal(W * H, 7), q2 = randomReal(W * H, 8);
    const [P1, P2] = realPairSpectra(p1, p2, W, H, W, H);
    const [Q1, Q2] = realPairSpectra(q1, q2, W, H, W, H);
    const [c1, c2] = correlatePair(P1, Q1, P2, Q2);
    const brute = (p: Float64Array, q: Float64Array, ux: number, uy: number) => {
      let s = 0;
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) s += p[y * W + x] * q[((y + uy) % H) * W + ((x + ux) % W)];
      return s;
    };
    for (const [ux, uy] of [[0, 0], [3, 1], [7, 5]]) {
      expect(c1[uy * W + ux]).toBeCloseTo(brute(p1, q1, ux, uy), 9);
      expect(c2[uy * W + ux]).toBeCloseTo(brute(p2, q2, ux, uy), 9);
    }
  });
});
