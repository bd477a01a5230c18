/**
 * No-data pixels: where an image holds no acquisition, such as the black fill a registration's warp leaves around a
 * transformed image (../shared/data/README.md: the vis-nir NIR images carry "black borders where the warp left no
 * data"). The caller names the fill value, as GDAL's NoData value does; this module finds where it is.
 *
 * Why it matters: correlation compares the query with a candidate over the query's whole frame, fill included, and
 * the fill's CoMIR is a flat region that exists in no candidate. docs/adr/0006 has the measurement.
 */
import type { GreyImage, PlanarImage } from '../types.ts';

/**
 * Side of the square opening applied to the fill-valued pixels (px): only pixels inside a 5 x 5 block that is all fill
 * count as no data, so dark pixels of the scene that happen to equal the fill (shadows, JPEG-clipped blacks) stay
 * data; a warp's fill is a region tens of pixels wide. The side of the experiment in docs/adr/0006.
 */
export const NO_DATA_OPENING = 5;

/**
 * Validity of each pixel (1 = data, 0 = no data): no data = every channel equal to `value` (0..1 of full scale) within
 * half a sample step of the file's `bitDepth`, opened by a NO_DATA_OPENING square. Null when no pixel is no data (the
 * caller then needs no mask).
 */
export function noDataMask(image: PlanarImage, value: number, bitDepth: number): Uint8Array | null {
  const { width: W, height: H, channels: C, data } = image;
  const tolerance = 0.5 / (2 ** bitDepth - 1);
  const fill = new Uint8Array(W * H);
  for (let i = 0, j = 0; i < fill.length; i++, j += C) {
    let all = 1;
    for (let c = 0; c < C; c++) if (Math.abs(data[j + c] - value) > tolerance) all = 0;
    fill[i] = all;
  }
  const opened = dilate(erode(fill, W, H, NO_DATA_OPENING), W, H, NO_DATA_OPENING);
  let any = false;
  const valid = new Uint8Array(W * H);
  for (let i = 0; i < valid.length; i++) {
    valid[i] = 1 - opened[i];
    if (opened[i]) any = true;
  }
  return any ? valid : null;
}

/** Binary erosion by a k x k square (k odd); outside the image counts as 0, so the rim erodes. */
function erode(m: Uint8Array, W: number, H: number, k: number): Uint8Array {
  return pass(pass(m, W, H, k, true, 'x'), W, H, k, true, 'y');
}

/** Binary dilation by a k x k square (k odd); the window is clipped to the image. */
function dilate(m: Uint8Array, W: number, H: number, k: number): Uint8Array {
  return pass(pass(m, W, H, k, false, 'x'), W, H, k, false, 'y');
}

/** One separable 1-D pass: `all` (erosion) or any (dilation) of the k values centred on each pixel along `axis`. */
function pass(m: Uint8Array, W: number, H: number, k: number, all: boolean, axis: 'x' | 'y'): Uint8Array {
  const r = (k - 1) / 2;
  const out = new Uint8Array(W * H);
  const [n, lines, step, stride] = axis === 'x' ? [W, H, 1, W] : [H, W, W, 1];
  for (let line = 0; line < lines; line++) {
    const base = line * stride;
    // running count of ones in the window [i - r, i + r] (clipped)
    let ones = 0;
    for (let i = 0; i < Math.min(r, n); i++) ones += m[base + i * step];
    for (let i = 0; i < n; i++) {
      if (i + r < n) ones += m[base + (i + r) * step];
      if (i - r - 1 >= 0) ones -= m[base + (i - r - 1) * step];
      out[base + i * step] = all ? (i - r >= 0 && i + r < n && ones === k ? 1 : 0) : ones > 0 ? 1 : 0;
    }
  }
  return out;
}

/** A copy of `image` with NaN where `valid` is 0: how correlation (pipeline/correlate.ts) is told about no data. */
export function markNoData(image: GreyImage, valid: Uint8Array): GreyImage {
  // a plain loop: `data.map` with a closure took 1.2 s of the main thread in 8 ingests + 4 searches (bench/event-loop.ts profile)
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = valid[i] ? image.data[i] : Number.NaN;
  return { ...image, data };
}
