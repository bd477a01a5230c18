/**
 * Transformed queries after the paper's protocol (../shared/data/README.md): rotation uniform in +-30 degrees and
 * translation uniform in +-12 % of the side, seeded; whole images and centre crops of 30 % of the side. And the vis-nir
 * pairs the first-stage benches query with: its test split, spread evenly, whole or as their centre crop.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage } from '../../src/pipeline/decode/decode.ts';
import type { PlanarImage } from '../../src/pipeline/types.ts';
import { crop } from '../../src/pipeline/rerank/warp.ts';
import { centreBox, encodePng16 } from '../../src/pipeline/protocol.ts';

// The protocol itself lives in src/pipeline/protocol.ts (cmir train's evaluation uses it too).
export { centreBox, encodePng16, makeQueries, pairSeed, PROTOCOL, type ProtocolQuery as Query } from '../../src/pipeline/protocol.ts';
export { mulberry32 } from '../../src/pipeline/index/kdtree.ts';

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
