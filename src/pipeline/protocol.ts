/**
 * The retrieval protocol of the benchmarks and of `cmir train`'s own evaluation, after the paper
 * (../shared/data/README.md "Protocol used by the benchmarks"): rotation uniform in +-30 degrees and translation
 * uniform in +-12 % of the side, seeded per pair; whole images and centre crops of 30 % of the side (the paper's 256
 * of 834 px). bench/lib/queries.ts re-exports it.
 */
import sharp from 'sharp';
import { type Affine, applyAffine, composeAffine, invertAffine, type Point, rigidAbout } from './rerank/geometry.ts';
import { crop, warpAffine } from './rerank/warp.ts';
import type { PlanarImage, Region } from './types.ts';

/** Protocol constants: ../shared/data/README.md "Protocol used by the benchmarks" (after the paper). */
export const PROTOCOL = { maxDegrees: 30, maxShift: 0.12, cropFraction: 0.3 } as const;

export interface ProtocolQuery {
  kind: 'whole' | 'crop';
  image: PlanarImage;
  /** Maps query pixels to repository-image pixels. */
  toRepository: Affine;
  /** The query's footprint in the repository image. */
  footprint: Point[];
}

/** The protocol's centre crop of an image this size: PROTOCOL.cropFraction of each side, rounded, in the middle. */
export function centreBox(width: number, height: number): Region {
  const cw = Math.round(width * PROTOCOL.cropFraction), ch = Math.round(height * PROTOCOL.cropFraction);
  return { x: Math.floor((width - cw) / 2), y: Math.floor((height - ch) / 2), width: cw, height: ch };
}

/** Draws one rigid transform and returns the whole transformed image and its centre crop. */
export function makeQueries(src: PlanarImage, random: () => number): { whole: ProtocolQuery; crop: ProtocolQuery; degrees: number } {
  const { width: W, height: H } = src;
  const degrees = (random() * 2 - 1) * PROTOCOL.maxDegrees;
  const tx = (random() * 2 - 1) * PROTOCOL.maxShift * W;
  const ty = (random() * 2 - 1) * PROTOCOL.maxShift * H;
  const m = rigidAbout(degrees, (W - 1) / 2, (H - 1) / 2, tx, ty);
  const inv = invertAffine(m);
  const whole = warpAffine(src, m);
  const box = centreBox(W, H);
  const { x: cx, y: cy, width: cw, height: ch } = box;
  const part = crop(whole, box);
  const corners = (w: number, h: number, ox: number, oy: number): Point[] =>
    ([[ox, oy], [ox + w, oy], [ox + w, oy + h], [ox, oy + h]] as Point[]).map((p) => applyAffine(inv, p));
  const shift: Affine = [1, 0, cx, 0, 1, cy];
  return {
    degrees,
    whole: { kind: 'whole', image: whole, toRepository: inv, footprint: corners(W, H, 0, 0) },
    crop: { kind: 'crop', image: part, toRepository: composeAffine(inv, shift), footprint: corners(cw, ch, cx, cy) },
  };
}

/** Seed per pair id (FNV-1a steps over the id from `seed`), so a pair's transform does not depend on which subset runs. */
export function pairSeed(seed: number, id: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** 16-bit PNG of a [0,1] image (lossless enough that the query is what was generated). */
export function encodePng16(img: PlanarImage): Promise<Buffer> {
  const raw = new Uint16Array(img.data.length);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.round(Math.min(1, Math.max(0, img.data[i])) * 65535);
  return sharp(raw, { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 } })
    .toColourspace(img.channels === 1 ? 'grey16' : 'rgb16')
    .png()
    .toBuffer();
}
