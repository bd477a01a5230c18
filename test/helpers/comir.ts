/**
 * Helpers for the CoMIR tests: real data location, planar rotation, correlation, and the tissue mask of
 * training/comir/data.py (tissue_mask) ported to TypeScript.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, normalize, type Normalization } from '../../src/pipeline/decode/decode.ts';
import type { GreyImage, PlanarImage } from '../../src/pipeline/types.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** CMIR_DATA_DIR, default ../shared/data relative to the repo root; null when absent. */
export function dataDir(): string | null {
  const d = process.env.CMIR_DATA_DIR ?? path.resolve(REPO_ROOT, '../shared/data');
  return existsSync(d) ? d : null;
}

/** Decodes an image file to [0,1] floats with `channels` channels (first channel kept for 1), then normalises. */
export async function readPlanar(file: string, channels: number, rule: Normalization = 'linear'): Promise<PlanarImage> {
  const { image } = await decodeImage(await readFile(file), { maxPixels: 64e6 });
  let img = image;
  if (img.channels !== channels) {
    const out = new Float32Array(img.width * img.height * channels);
    for (let i = 0; i < img.width * img.height; i++) {
      for (let c = 0; c < channels; c++) out[i * channels + c] = img.data[i * img.channels + Math.min(c, img.channels - 1)];
    }
    img = { width: img.width, height: img.height, channels, data: out };
  }
  return normalize(img, rule);
}

/** rot90 counter-clockwise of an interleaved image: pixel (x, y) goes to (y, W-1-x) (numpy np.rot90 on HWC). */
export function rot90Planar(img: PlanarImage): PlanarImage {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dst = ((w - 1 - x) * h + y) * c;
      const src = (y * w + x) * c;
      for (let k = 0; k < c; k++) out[dst + k] = data[src + k];
    }
  }
  return { width: h, height: w, channels: c, data: out };
}

export function rot90Grey(img: GreyImage): GreyImage {
  const r = rot90Planar({ ...img, channels: 1 });
  return { width: r.width, height: r.height, data: r.data };
}

/** Pearson correlation of a and b over the pixels where mask is set (all when no mask). */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>, mask?: ArrayLike<number | boolean>): number {
  let n = 0, sa = 0, sb = 0;
  for (let i = 0; i < a.length; i++) if (!mask || mask[i]) { n++; sa += a[i]; sb += b[i]; }
  const ma = sa / n, mb = sb / n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < a.length; i++) {
    if (mask && !mask[i]) continue;
    const x = a[i] - ma, y = b[i] - mb;
    num += x * y; da += x * x; db += y * y;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/** Mean over a k x k window (k odd), clamped borders, via an integral image. */
function boxMean(src: Float64Array, w: number, h: number, k: number): Float64Array {
  const r = k >> 1;
  const ii = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += src[y * w + x];
      ii[(y + 1) * (w + 1) + x + 1] = ii[y * (w + 1) + x + 1] + row;
    }
  }
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r), x1 = Math.min(w, x + r + 1);
      const s = ii[y1 * (w + 1) + x1] - ii[y0 * (w + 1) + x1] - ii[y1 * (w + 1) + x0] + ii[y0 * (w + 1) + x0];
      out[y * w + x] = s / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** Tissue of an SHG/BF pair (both raw [0,1], 1 channel): as training/comir/data.py tissue_mask. */
export function tissueMask(shg: PlanarImage, bf: PlanarImage): Uint8Array {
  const { width: w, height: h } = bf;
  const b = Float64Array.from(bf.data), b2 = b.map((v) => v * v), s = Float64Array.from(shg.data);
  const m = boxMean(b, w, h, 15), m2 = boxMean(b2, w, h, 15), ms = boxMean(s, w, h, 15);
  const t = new Float64Array(w * h);
  for (let i = 0; i < t.length; i++) t[i] = Math.sqrt(Math.max(0, m2[i] - m[i] * m[i])) > 0.04 || ms[i] > 0.06 ? 1 : 0;
  const maj = boxMean(t, w, h, 31);
  return Uint8Array.from(maj, (v) => (v > 0.5 ? 1 : 0));
}
