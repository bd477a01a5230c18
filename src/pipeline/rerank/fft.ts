/**
 * Radix-2 complex FFT (iterative Cooley-Tukey) and the 2-D helpers that dense correlation needs (correlate.ts). Sizes
 * are powers of two; two real images share one complex transform (the "two real FFTs for the price of one" packing,
 * Press et al., Numerical Recipes 3rd ed. sec. 12.3), which halves the work of every correlation.
 */

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

const plans = new Map<number, { cos: Float64Array; sin: Float64Array; rev: Uint32Array }>();

/** Twiddles (cos, sin of 2 pi k / n) and the bit-reversal permutation of size n, cached. */
function plan(n: number) {
  let t = plans.get(n);
  if (!t) {
    const cos = new Float64Array(n / 2), sin = new Float64Array(n / 2);
    for (let k = 0; k < n / 2; k++) {
      cos[k] = Math.cos((2 * Math.PI * k) / n);
      sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    const rev = new Uint32Array(n);
    const bits = Math.log2(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0, v = i; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
      rev[i] = r;
    }
    t = { cos, sin, rev };
    plans.set(n, t);
  }
  return t;
}

/**
 * In-place FFT of `count` contiguous rows of n complex values starting at re/im[0] (inverse: conjugate twiddles, no
 * 1/n scaling). Rows, not strided columns: columns are transposed first (fft2), which keeps memory access sequential.
 */
function fftRows(re: Float64Array, im: Float64Array, n: number, count: number, inverse: boolean): void {
  const { cos, sin, rev } = plan(n);
  const sign = inverse ? 1 : -1;
  for (let r = 0; r < count; r++) {
    const o = r * n;
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) {
        let t = re[o + i];
        re[o + i] = re[o + j];
        re[o + j] = t;
        t = im[o + i];
        im[o + i] = im[o + j];
        im[o + j] = t;
      }
    }
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >> 1, step = n / size;
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step], wi = sign * sin[k * step];
        for (let a = o + k; a < o + n; a += size) {
          const b = a + half;
          const xr = re[b] * wr - im[b] * wi;
          const xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }
}

function transpose(src: Float64Array, dst: Float64Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) dst[x * h + y] = src[y * w + x];
}

/** In-place 2-D FFT (rows, then columns). The inverse is scaled by 1/(width*height). */
export function fft2(s: Spectrum, inverse = false): void {
  const { width: W, height: H, re, im } = s;
  fftRows(re, im, W, H, inverse);
  const tr = new Float64Array(W * H), ti = new Float64Array(W * H);
  transpose(re, tr, W, H);
  transpose(im, ti, W, H);
  fftRows(tr, ti, H, W, inverse);
  transpose(tr, re, H, W);
  transpose(ti, im, H, W);
  if (inverse) {
    const k = 1 / (W * H);
    for (let i = 0; i < re.length; i++) {
      re[i] *= k;
      im[i] *= k;
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
