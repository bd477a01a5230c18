/**
 * Transformed queries after the paper's protocol (../shared/data/README.md): rotation uniform in +-30 degrees and
 * translation uniform in +-12 % of the side, seeded; whole images and centre crops of 30 % of the side.
 */
import sharp from 'sharp';
import { type Affine, applyAffine, composeAffine, invertAffine, type Point, rigidAbout } from '../../src/pipeline/rerank/geometry.ts';
import type { PlanarImage } from '../../src/pipeline/types.ts';
import { crop, warpAffine } from '../../src/pipeline/rerank/warp.ts';

/** Protocol constants: ../shared/data/README.md "Protocol used by the benchmarks" (after the paper). */
export const PROTOCOL = { maxDegrees: 30, maxShift: 0.12, cropFraction: 0.3 } as const;

export { mulberry32 } from '../../src/pipeline/index/kdtree.ts';

export interface Query {
  kind: 'whole' | 'crop';
  image: PlanarImage;
  /** Maps query pixels to repository-image pixels. */
  toRepository: Affine;
  /** The query's footprint in the repository image. */
  footprint: Point[];
}

/** Draws one rigid transform and returns the whole transformed image and its centre crop. */
export function makeQueries(src: PlanarImage, random: () => number): { whole: Query; crop: Query; degrees: number } {
  const { width: W, height: H } = src;
  const degrees = (random() * 2 - 1) * PROTOCOL.maxDegrees;
  const tx = (random() * 2 - 1) * PROTOCOL.maxShift * W;
  const ty = (random() * 2 - 1) * PROTOCOL.maxShift * H;
  const m = rigidAbout(degrees, (W - 1) / 2, (H - 1) / 2, tx, ty);
  const inv = invertAffine(m);
  const whole = warpAffine(src, m);
  const cw = Math.round(W * PROTOCOL.cropFraction), ch = Math.round(H * PROTOCOL.cropFraction);
  const cx = Math.floor((W - cw) / 2), cy = Math.floor((H - ch) / 2);
  const part = crop(whole, { x: cx, y: cy, width: cw, height: ch });
  const corners = (w: number, h: number, ox: number, oy: number): Point[] =>
    ([[ox, oy], [ox + w, oy], [ox + w, oy + h], [ox, oy + h]] as Point[]).map((p) => applyAffine(inv, p));
  const shift: Affine = [1, 0, cx, 0, 1, cy];
  return {
    degrees,
    whole: { kind: 'whole', image: whole, toRepository: inv, footprint: corners(W, H, 0, 0) },
    crop: { kind: 'crop', image: part, toRepository: composeAffine(inv, shift), footprint: corners(cw, ch, cx, cy) },
  };
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
