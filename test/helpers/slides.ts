/**
 * Synthetic whole-slide images for the whole-slide tests: bright, slightly noisy glass with textured "tissue" blobs
 * (H&E-like colours over several octaves of smoothed random noise, so a CoMIR network has structure to describe),
 * written as tiled pyramidal TIFFs by sharp. Deterministic for a seed.
 */
import sharp from 'sharp';
import { rng } from './synthetic-images.ts';

export interface Blob {
  /** Centre and radius in full-resolution pixels; the edge is made irregular by up to 15 % of the radius. */
  cx: number;
  cy: number;
  r: number;
}

/** Background (glass) colour and the half-range of its uniform noise, in 8-bit levels. */
export const GLASS = [236, 233, 238] as const;
export const GLASS_NOISE = 3;

/** Smoothed random noise in [0, 1]: `w/cell x h/cell` random values resized (cubic) to w x h. */
async function octave(width: number, height: number, cell: number, random: () => number): Promise<Uint8Array> {
  const sw = Math.max(2, Math.ceil(width / cell)), sh = Math.max(2, Math.ceil(height / cell));
  const small = Buffer.alloc(sw * sh);
  for (let i = 0; i < small.length; i++) small[i] = Math.floor(random() * 256);
  const { data } = await sharp(small, { raw: { width: sw, height: sh, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return data;
}

/**
 * A width x height 8-bit RGB slide (interleaved) with `blobs` of tissue: pink stroma whose shade varies over 256 and
 * 64 full-resolution pixels, round lumens (bright, 30-90 px, with a dark rim) and dark purple nuclei (radius 3-7 px,
 * denser where the coarse field is high), so that at a 4x coarser working resolution the tissue has the dots, rims and
 * shades a brightfield CoMIR network responds to.
 */
export async function slidePixels(width: number, height: number, seed: number, blobs: readonly Blob[]): Promise<Buffer> {
  const random = rng(seed);
  const out = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const o = i * 3;
    for (let c = 0; c < 3; c++) out[o + c] = GLASS[c] + Math.round((random() * 2 - 1) * GLASS_NOISE);
  }
  const coarse = await octave(width, height, 256, random);
  const mid = await octave(width, height, 64, random);
  const edge = await octave(width, height, 512, random);
  const tissue = new Uint8Array(width * height);
  const inside = (b: Blob, x: number, y: number) => Math.hypot(x - b.cx, y - b.cy) <= b.r * (1 + 0.15 * (edge[y * width + x] / 127.5 - 1));
  const paint = (i: number, r: number, g: number, b: number, a: number) => {
    const o = i * 3;
    out[o] = Math.round(out[o] * (1 - a) + r * a);
    out[o + 1] = Math.round(out[o + 1] * (1 - a) + g * a);
    out[o + 2] = Math.round(out[o + 2] * (1 - a) + b * a);
  };
  for (const b of blobs) {
    const x0 = Math.max(0, Math.floor(b.cx - 1.2 * b.r)), x1 = Math.min(width, Math.ceil(b.cx + 1.2 * b.r));
    const y0 = Math.max(0, Math.floor(b.cy - 1.2 * b.r)), y1 = Math.min(height, Math.ceil(b.cy + 1.2 * b.r));
    // stroma
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const i = y * width + x;
        if (!inside(b, x, y)) continue;
        tissue[i] = 1;
        const t = Math.min(1, Math.max(0, 0.5 + 1.4 * ((0.6 * coarse[i] + 0.4 * mid[i]) / 255 - 0.5)));
        const o = i * 3;
        out[o] = Math.round(235 - 60 * t);
        out[o + 1] = Math.round(190 - 90 * t);
        out[o + 2] = Math.round(220 - 50 * t);
      }
    }
    const area = Math.PI * b.r * b.r;
    // lumens: bright discs with a dark rim
    for (let k = 0; k < area / 40_000; k++) {
      const cx = b.cx + (random() * 2 - 1) * b.r, cy = b.cy + (random() * 2 - 1) * b.r, r = 30 + 60 * random();
      for (let y = Math.max(0, Math.floor(cy - r - 4)); y < Math.min(height, cy + r + 4); y++) {
        for (let x = Math.max(0, Math.floor(cx - r - 4)); x < Math.min(width, cx + r + 4); x++) {
          const i = y * width + x;
          if (!tissue[i]) continue;
          const d = Math.hypot(x - cx, y - cy);
          if (d < r) paint(i, 246, 240, 246, 0.9);
          else if (d < r + 4) paint(i, 120, 60, 140, 0.8);
        }
      }
    }
    // nuclei, more where the coarse field is high
    for (let k = 0; k < area / 250; k++) {
      const cx = b.cx + (random() * 2 - 1) * b.r, cy = b.cy + (random() * 2 - 1) * b.r;
      const ix = Math.round(cx), iy = Math.round(cy);
      if (ix < 0 || iy < 0 || ix >= width || iy >= height || !tissue[iy * width + ix]) continue;
      if (random() * 255 > coarse[iy * width + ix] * 1.3) continue;
      const r = 3 + 4 * random();
      for (let y = Math.max(0, Math.floor(cy - r - 1)); y < Math.min(height, cy + r + 1); y++) {
        for (let x = Math.max(0, Math.floor(cx - r - 1)); x < Math.min(width, cx + r + 1); x++) {
          const d = Math.hypot(x - cx, y - cy);
          if (d < r + 1) paint(y * width + x, 70, 30, 110, Math.min(1, r + 1 - d) * 0.9);
        }
      }
    }
  }
  return out;
}

export interface PyramidOptions {
  /** Micrometres per pixel written as TIFF resolution (sharp's xres is pixels per millimetre); null: sharp's default. */
  micronsPerPixel?: number | null;
  compression?: 'jpeg' | 'lzw';
  tile?: number;
}

/** Writes 8-bit raw pixels as a tiled pyramidal TIFF. */
export async function writePyramid(file: string, raw: Buffer, width: number, height: number, channels: 1 | 3, opts: PyramidOptions = {}): Promise<void> {
  const mpp = opts.micronsPerPixel === undefined ? 0.5 : opts.micronsPerPixel;
  const tile = opts.tile ?? 256;
  await sharp(raw, { raw: { width, height, channels }, limitInputPixels: false })
    .tiff({
      tile: true,
      pyramid: true,
      tileWidth: tile,
      tileHeight: tile,
      compression: opts.compression ?? 'jpeg',
      quality: 90,
      ...(mpp !== null ? { xres: 1000 / mpp, yres: 1000 / mpp, resolutionUnit: 'cm' as const } : {}),
    })
    .toFile(file);
}

/** A synthetic slide written to `file`; returns its pixels too (for truths cut from it). */
export async function makeSlide(
  file: string,
  width: number,
  height: number,
  seed: number,
  blobs: readonly Blob[],
  opts: PyramidOptions = {},
): Promise<Buffer> {
  const raw = await slidePixels(width, height, seed, blobs);
  await writePyramid(file, raw, width, height, 3, opts);
  return raw;
}
