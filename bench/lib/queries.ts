/**
 * Transformed queries after the paper's protocol (../shared/data/README.md): rotation uniform in +-30 degrees and
 * translation uniform in +-12 % of the side, seeded; whole images and centre crops of 30 % of the side. And the vis-nir
 * pairs the first-stage benches query with: its test split, spread evenly, whole or as their centre crop.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../src/pipeline/decode/decode.ts';
import { type Affine, applyAffine, composeAffine, invertAffine, type Point, rigidAbout } from '../../src/pipeline/rerank/geometry.ts';
import type { PlanarImage, Region } from '../../src/pipeline/types.ts';
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

/** The protocol's centre crop of an image this size: PROTOCOL.cropFraction of each side, rounded, in the middle. */
export function centreBox(width: number, height: number): Region {
  const cw = Math.round(width * PROTOCOL.cropFraction), ch = Math.round(height * PROTOCOL.cropFraction);
  return { x: Math.floor((width - cw) / 2), y: Math.floor((height - ch) / 2), width: cw, height: ch };
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

/** 16-bit PNG of a [0,1] image (lossless enough that the query is what was generated). */
export function encodePng16(img: PlanarImage): Promise<Buffer> {
  const raw = new Uint16Array(img.data.length);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.round(Math.min(1, Math.max(0, img.data[i])) * 65535);
  return sharp(raw, { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 } })
    .toColourspace(img.channels === 1 ? 'grey16' : 'rgb16')
    .png()
    .toBuffer();
}

/** A row of vis-nir/pairs.csv (../shared/data/README.md): an RGB image, its NIR partner (files relative to vis-nir/). */
export interface VisNirPair {
  id: string;
  category: string;
  split: string;
  rgb: string;
  nir: string;
  /** RGB -> NIR pixel map, empty where none is given. */
  affine: string;
}

/** n items spread evenly over `list` (which keeps categories mixed when it is sorted by them); all of it when n >= its length. */
export function spread<T>(list: readonly T[], n = Infinity): T[] {
  const m = Math.min(n, list.length);
  return Array.from({ length: m }, (_, i) => list[Math.floor((i * list.length) / m)]);
}

/**
 * The vis-nir pairs in `dataDir` (its pairs.csv, in file order), the test split, and `n` test pairs spread evenly over
 * it: the queries of the first-stage benches. `decode` reads one of the set's files (no pixel limit).
 */
export async function visNirQueries(dataDir: string, n: number) {
  const dir = path.join(dataDir, 'vis-nir');
  const [head, ...lines] = (await readFile(path.join(dir, 'pairs.csv'), 'utf8')).trim().split(/\r?\n/);
  const cols = head.split(',');
  const pairs = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])) as unknown as VisNirPair);
  const test = pairs.filter((p) => p.split === 'test');
  const decode = async (file: string): Promise<PlanarImage> => (await decodeImage(await readFile(path.join(dir, file)), { maxPixels: 1e9 })).image;
  return { pairs, test, queryPairs: spread(test, n), decode };
}

/** The protocol's crop query as the benches send it: the centre crop (centreBox) as a 16-bit PNG. */
export function centreCropPng16(img: PlanarImage): Promise<Buffer> {
  return encodePng16(crop(img, centreBox(img.width, img.height)));
}
