/**
 * The 2-D FFTs that dense correlation needs (correlate.ts), on fft.js's 1-D transforms. Sizes are powers of two; two
 * real images share one complex transform (the "two real FFTs for the price of one" packing, Press et al., Numerical
 * Recipes 3rd ed. sec. 12.3), which halves the work of every correlation.
 */
import FFT from 'fft.js';

/** A complex 2-D array, row-major, `height` rows of `width` (both powers of two). */
export interface Spectrum {
  readonly width: number;
  readonly height: number;
  readonly re: Float64Array;
  readonly im: Float64Array;
}

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/**
 * The 1-D transforms are fft.js's (radix-4, float64): bench/results/fft.md measured it 2.3-2.6x faster than the
 * radix-2 written here before, at the sizes correlation uses (64-256), with results within 5e-16 of it.
 */
const ffts = new Map<number, FFT>();
/** Interleaved complex scratch buffers by length (one thread runs one transform at a time). */
const scratch = new Map<number, [Float64Array, Float64Array]>();

function fftOf(n: number): FFT {
  let f = ffts.get(n);
  if (!f) ffts.set(n, (f = new FFT(n)));
  return f;
}

function buffers(length: number): [Float64Array, Float64Array] {
  let b = scratch.get(length);
  if (!b) scratch.set(length, (b = [new Float64Array(length), new Float64Array(length)]));
  return b;
}

/** Transforms `count` contiguous interleaved complex rows of n values from `src` into `dst` (inverse: scaled by 1/n). */
function rows(src: Float64Array, dst: Float64Array, n: number, count: number, inverse: boolean): void {
  if (n === 1) return void dst.set(src.subarray(0, 2 * count));
  const f = fftOf(n);
  for (let r = 0, o = 0; r < count; r++, o += 2 * n) {
    const out = dst.subarray(o, o + 2 * n), data = src.subarray(o, o + 2 * n);
    if (inverse) f.inverseTransform(out, data);
    else f.transform(out, data);
  }
}

/**
 * In-place 2-D FFT (rows, then columns; columns transposed to rows so that memory access stays sequential). The
 * inverse is scaled by 1/(width*height) (fft.js scales each axis by 1/n).
 */
export function fft2(s: Spectrum, inverse = false): void {
  const { width: W, height: H, re, im } = s;
  const [a, b] = buffers(2 * W * H);
  for (let i = 0; i < W * H; i++) {
    b[2 * i] = re[i];
    b[2 * i + 1] = im[i];
  }
  rows(b, a, W, H, inverse);
  // a (H rows of W) -> b (W rows of H)
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = 2 * (y * W + x), j = 2 * (x * H + y);
      b[j] = a[i];
      b[j + 1] = a[i + 1];
    }
  }
  rows(b, a, H, W, inverse);
  // a (W rows of H) -> re, im (H rows of W)
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) {
      const i = 2 * (x * H + y);
      re[y * W + x] = a[i];
      im[y * W + x] = a[i + 1];
    }
  }
}

/**
 * Spectra of two real images (w x h, row-major; b = null: zeros), zero-padded to width x height, with one complex FFT: z = a + i b,
 * A[k] = (Z[k] + conj Z[-k]) / 2, B[k] = (Z[k] - conj Z[-k]) / 2i.
 */
export function realPairSpectra(
  a: ArrayLike<number>,
  b: ArrayLike<number> | null,
  w: number,
  h: number,
  width: number,
  height: number,
): [Spectrum, Spectrum] {
  const n = width * height;
  const z: Spectrum = { width, height, re: new Float64Array(n), im: new Float64Array(n) };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      z.re[y * width + x] = a[y * w + x];
      if (b) z.im[y * width + x] = b[y * w + x];
    }
  }
  fft2(z);
  const A: Spectrum = { width, height, re: new Float64Array(n), im: new Float64Array(n) };
  const B: Spectrum = { width, height, re: new Float64Array(n), im: new Float64Array(n) };
  for (let y = 0; y < height; y++) {
    const ny = (height - y) & (height - 1);
    for (let x = 0; x < width; x++) {
      const i = y * width + x, j = ny * width + ((width - x) & (width - 1));
      const zr = z.re[i], zi = z.im[i], cr = z.re[j], ci = -z.im[j];
      A.re[i] = (zr + cr) / 2;
      A.im[i] = (zi + ci) / 2;
      // (Z - conj Z[-k]) / 2i = (dr + i di) / 2i = (di - i dr) / 2
      B.re[i] = (zi - ci) / 2;
      B.im[i] = -(zr - cr) / 2;
    }
  }
  return [A, B];
}

/**
 * Two real cyclic cross-correlations with one inverse FFT: out1[u] = sum_x p1(x) q1(x + u), out2 likewise, from the
 * spectra (conj(P1) Q1 + i conj(P2) Q2 has a real inverse part out1 and an imaginary part out2).
 */
export function correlatePair(p1: Spectrum, q1: Spectrum, p2: Spectrum, q2: Spectrum): [Float64Array, Float64Array] {
  const { width, height } = q1;
  const n = width * height;
  const z: Spectrum = { width, height, re: new Float64Array(n), im: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    // conj(p) * q
    const r1 = p1.re[i] * q1.re[i] + p1.im[i] * q1.im[i];
    const i1 = p1.re[i] * q1.im[i] - p1.im[i] * q1.re[i];
    const r2 = p2.re[i] * q2.re[i] + p2.im[i] * q2.im[i];
    const i2 = p2.re[i] * q2.im[i] - p2.im[i] * q2.re[i];
    z.re[i] = r1 - i2;
    z.im[i] = i1 + r2;
  }
  fft2(z, true);
  return [z.re, z.im];
}
