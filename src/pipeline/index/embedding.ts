/**
 * The vector first stage (docs/adr/0011): fixed-length vectors of an image's CoMIR that pgvector can index (HNSW,
 * cosine), so a search no longer needs a vocabulary and re-ranks a few candidates instead of the whole repository.
 *
 * A vector describes one square **window** of the representation, read as box means on a lattice (its samples) and
 * turned into a vector by a describer: either the hand-made box vector (8 x 8 means minus their mean, L2-normalised:
 * the cosine of two is the normalised cross-correlation of the windows seen coarsely, what dense correlation measures
 * well across modalities, docs/adr/0004) or a small network trained beside the CoMIR on 32 x 32 samples
 * (window-descriptor.ts, docs/adr/0015), which tolerates the shift, turn and scale the query lattice leaves.
 *
 * - A stored image is described by overlapping windows at sides SIDE_0 * SIDE_RATIO^k (pixels of the representation),
 *   laid with a stride of STRIDE x side, upright.
 * - A query is described by squares centred on itself at the two largest of those sides that fit it, rotated over
 *   the pose sweep (rotation invariance is bought on the query side, as correlate.ts does), and shifted by fractions
 *   of the stored stride, so that one of them falls near a stored window wherever the query lies.
 *
 * An image's score is the agreement of the query's vectors on it (`rankImages`): the mean, over the AGREEMENT query
 * vectors that found it best, of the best cosine each found among its windows. Its best window says where in the image
 * the query lies.
 */
import type { GreyImage, Region } from '../types.ts';

export interface EmbeddingParams {
  /** Lattice side: a vector has grid^2 dimensions. */
  grid: number;
  /** Smallest window side (representation pixels). */
  side0: number;
  /** Ratio between neighbouring window sides. */
  sideRatio: number;
  /** Window stride as a fraction of its side. */
  stride: number;
  /** Query squares: the largest window sides that fit this fraction of the query's shorter side ... */
  queryFit: number;
  /** ... this many of them (largest first), */
  queryScales: number;
  /** rotated in steps of this many degrees over +-maxRotation, */
  angleStep: number;
  /** and shifted on a shifts x shifts lattice spanning one stored stride. */
  shifts: number;
  /** At most this many windows per image (the smallest sides are dropped first, so a huge image stays bounded). */
  maxWindows: number;
}

/**
 * The shipped parameters, measured on the 160 vis-nir test pairs (docs/adr/0011 has the table). grid 8 (64 dims): 5 lost
 * a third of whole-image recall, and more dimensions cost index size and HNSW time. side0 96 px: a 30 % crop of a
 * 1024 x 680 photograph is 307 x 204 px, so its inscribed square is described at 150-187 px. stride 0.5 and 4 x 4
 * shifts: a stored window lies within 1/16 of its side of one of the query's squares.
 */
export const EMBEDDING_PARAMS: Readonly<EmbeddingParams> = Object.freeze({
  grid: 8,
  side0: 96,
  sideRatio: 1.25,
  stride: 0.5,
  queryFit: 0.9,
  queryScales: 2,
  angleStep: 10,
  shifts: 4,
  maxWindows: 4000,
});

/** The dimension of the vectors of `params` (the pgvector column's, prisma/migrations). */
export function embeddingDimensions(params: EmbeddingParams = EMBEDDING_PARAMS): number {
  return params.grid * params.grid;
}

/**
 * Turns windows into vectors. A window is given as its **samples**: the box means of its (rotated) square on a
 * grid x grid lattice, NaN where it has no data. Two describers exist: the hand-made box vector below (BOX_DESCRIBER)
 * and a learned network shipped with a CoMIR model (window-descriptor.ts, docs/adr/0015).
 */
export interface WindowDescriber {
  /** Names the vectors (part of their space): vectors of two versions are not comparable. */
  readonly version: string;
  /** The lattice side of the samples it reads. */
  readonly grid: number;
  /** One vector per window (embeddingDimensions() long, unit length), null for a window it cannot describe (flat). */
  describe(samples: readonly Float32Array[]): Promise<(Float32Array | null)[]>;
}

/** The hand-made vector (docs/adr/0011): the grid x grid box means minus their mean, L2-normalised. */
export const BOX_DESCRIBER: WindowDescriber = Object.freeze({
  version: `grid${EMBEDDING_PARAMS.grid}`,
  grid: EMBEDDING_PARAMS.grid,
  describe: async (samples: readonly Float32Array[]) => samples.map(centredUnit),
});

/**
 * A name for the vectors `describer` makes of windows laid out by `params`: stored vectors of another version are not
 * comparable and are replaced by a reindex. (The box describer's name is the one vectors had before describers
 * existed, so its stored vectors stay valid.)
 */
export function embeddingVersion(describer: Pick<WindowDescriber, 'version'> = BOX_DESCRIBER, params: EmbeddingParams = EMBEDDING_PARAMS): string {
  const p = params;
  return `${describer.version}-s${p.side0}x${p.sideRatio}-st${p.stride}`;
}

/** One stored window and its vector. */
export interface WindowVector {
  /** The window in the image's pixels (the representation has the image's size). */
  x: number;
  y: number;
  side: number;
  /** A whole-slide image's window: its side at the model's working resolution (services/wsi.service.ts). */
  workingSide?: number;
  vector: Float32Array;
}

/** Summed-area tables of the values and of the count of valid (non-NaN) pixels. */
interface Integral {
  width: number;
  height: number;
  sum: Float64Array;
  count: Float64Array;
}

function integral(img: GreyImage): Integral {
  const { width: W, height: H, data } = img;
  const W1 = W + 1;
  const sum = new Float64Array(W1 * (H + 1));
  const count = new Float64Array(W1 * (H + 1));
  for (let y = 0; y < H; y++) {
    let rs = 0, rc = 0;
    for (let x = 0; x < W; x++) {
      const v = data[y * W + x];
      if (!Number.isNaN(v)) {
        rs += v;
        rc++;
      }
      sum[(y + 1) * W1 + x + 1] = sum[y * W1 + x + 1] + rs;
      count[(y + 1) * W1 + x + 1] = count[y * W1 + x + 1] + rc;
    }
  }
  return { width: W, height: H, sum, count };
}

/** Mean of the valid pixels of a box (clipped to the image), or NaN when fewer than half of its pixels are valid. */
function boxMean(t: Integral, cx: number, cy: number, half: number): number {
  const x0 = Math.max(0, Math.min(t.width, Math.round(cx - half)));
  const x1 = Math.max(0, Math.min(t.width, Math.round(cx + half)));
  const y0 = Math.max(0, Math.min(t.height, Math.round(cy - half)));
  const y1 = Math.max(0, Math.min(t.height, Math.round(cy + half)));
  if (x1 <= x0 || y1 <= y0) return Number.NaN;
  const W1 = t.width + 1;
  const at = (a: Float64Array) => a[y1 * W1 + x1] - a[y0 * W1 + x1] - a[y1 * W1 + x0] + a[y0 * W1 + x0];
  const n = at(t.count);
  return n > 0.5 * (2 * half) * (2 * half) ? at(t.sum) / n : Number.NaN;
}

/**
 * The samples of the square of side `side` centred at (cx, cy), rotated by `degrees`: box means on a grid x grid
 * lattice (NaN where a cell has no data); null when a quarter or more of its cells have no data.
 */
function samples(t: Integral, cx: number, cy: number, side: number, degrees: number, grid: number): Float32Array | null {
  const cell = side / grid;
  const th = (degrees * Math.PI) / 180, co = Math.cos(th), si = Math.sin(th);
  const v = new Float32Array(grid * grid);
  let n = 0;
  for (let j = 0; j < grid; j++) {
    for (let i = 0; i < grid; i++) {
      const u = (i + 0.5) * cell - side / 2, w = (j + 0.5) * cell - side / 2;
      const m = boxMean(t, cx + co * u - si * w, cy + si * u + co * w, cell / 2);
      v[j * grid + i] = m;
      if (!Number.isNaN(m)) n++;
    }
  }
  return n < 0.75 * grid * grid ? null : v;
}

/** The mean of the samples that have data (NaN = none), and how many they are. */
export function validMean(samples: Float32Array): { mean: number; n: number } {
  let sum = 0, n = 0;
  for (const m of samples) {
    if (!Number.isNaN(m)) {
      sum += m;
      n++;
    }
  }
  return { mean: sum / n, n };
}

/** The box vector of samples: minus their mean (cells without data at the mean), L2-normalised; null when flat. */
function centredUnit(samples: Float32Array): Float32Array | null {
  const { mean } = validMean(samples);
  const v = new Float32Array(samples.length);
  let norm = 0;
  for (let k = 0; k < v.length; k++) {
    v[k] = Number.isNaN(samples[k]) ? 0 : samples[k] - mean;
    norm += v[k] * v[k];
  }
  // a flat window (the background CoMIR is a constant, training/README.md) says nothing about where it is
  if (!(norm >= 1e-10)) return null;
  norm = Math.sqrt(norm);
  for (let k = 0; k < v.length; k++) v[k] /= norm;
  return v;
}

/** Window sides SIDE_0 * ratio^k up to `limit`. */
function windowSides(limit: number, p: EmbeddingParams): number[] {
  const out: number[] = [];
  for (let s = p.side0; s <= limit * (1 + 1e-9); s *= p.sideRatio) out.push(s);
  return out;
}

/** Window positions (top-left) along one axis of length `length`, centred, `step` apart. */
function positions(length: number, side: number, step: number): number[] {
  const n = Math.max(1, Math.floor((length - side) / step + 1e-9) + 1);
  const offset = (length - side - (n - 1) * step) / 2;
  return Array.from({ length: n }, (_, i) => offset + i * step);
}

/** The stored vectors of an image's representation (NaN pixels are no data). */
export async function windowVectors(
  img: GreyImage,
  describer: WindowDescriber = BOX_DESCRIBER,
  params: EmbeddingParams = EMBEDDING_PARAMS,
): Promise<WindowVector[]> {
  const t = integral(img);
  const sides = windowSides(Math.min(img.width, img.height), params);
  // the smallest sides go first when an image would have too many windows
  const counts = sides.map((s) => positions(img.width, s, s * params.stride).length * positions(img.height, s, s * params.stride).length);
  let first = 0;
  for (let total = counts.reduce((a, b) => a + b, 0); total > params.maxWindows && first < sides.length - 1; first++) total -= counts[first];
  const places: { x: number; y: number; side: number; samples: Float32Array }[] = [];
  for (const side of sides.slice(first)) {
    const step = side * params.stride;
    for (const y of positions(img.height, side, step)) {
      for (const x of positions(img.width, side, step)) {
        const s = samples(t, x + side / 2, y + side / 2, side, 0, describer.grid);
        if (s) places.push({ x: Math.round(x), y: Math.round(y), side: Math.round(side), samples: s });
      }
    }
  }
  const vectors = await describer.describe(places.map((p) => p.samples));
  const out: WindowVector[] = [];
  places.forEach((p, i) => {
    const vector = vectors[i];
    if (vector) out.push({ x: p.x, y: p.y, side: p.side, vector });
  });
  return out;
}

/** One vector of a query, with the pose it was taken at (query pixels). */
export interface QueryVector {
  vector: Float32Array;
  /** Centre of the square in the query. */
  cx: number;
  cy: number;
  side: number;
  angle: number;
}

/** A query's vectors: centred squares at the largest stored sides that fit, over rotations and shifts. */
export async function queryVectors(
  img: GreyImage,
  maxRotation: number,
  describer: WindowDescriber = BOX_DESCRIBER,
  params: EmbeddingParams = EMBEDDING_PARAMS,
): Promise<QueryVector[]> {
  const t = integral(img);
  const sides = windowSides(Math.min(img.width, img.height) * params.queryFit, params).slice(-params.queryScales);
  const na = Math.floor(maxRotation / params.angleStep + 1e-9);
  const poses: (Omit<QueryVector, 'vector'> & { samples: Float32Array })[] = [];
  for (const side of sides) {
    const d = (side * params.stride) / params.shifts;
    for (let a = -na; a <= na; a++) {
      for (let sy = 0; sy < params.shifts; sy++) {
        for (let sx = 0; sx < params.shifts; sx++) {
          const cx = img.width / 2 + (sx - (params.shifts - 1) / 2) * d;
          const cy = img.height / 2 + (sy - (params.shifts - 1) / 2) * d;
          const angle = a * params.angleStep;
          const s = samples(t, cx, cy, side, angle, describer.grid);
          if (s) poses.push({ cx, cy, side, angle, samples: s });
        }
      }
    }
  }
  const vectors = await describer.describe(poses.map((p) => p.samples));
  const out: QueryVector[] = [];
  poses.forEach(({ samples: _, ...pose }, i) => {
    const vector = vectors[i];
    if (vector) out.push({ vector, ...pose });
  });
  return out;
}

/** A stored window a query vector found (from the vector index), with its cosine similarity. */
export interface WindowHit<Id> {
  entryId: Id;
  similarity: number;
  window: Region;
  /** Which of the query's vectors found it (its index in the query's list). */
  query: number;
}

/** An image ranked by the first stage: `window`, its best window, says where in the image the query lies. */
export interface ImageHit<Id> {
  entryId: Id;
  score: number;
  window: Region;
  /** Its best windows at distinct places, best first (window first), at most `places` of rankImages. */
  places: Region[];
}

/**
 * How many of the query's vectors an image's first-stage score averages (rankImages). One lets a single chance window
 * outrank the true image, whose windows answer many of the query's shifted and turned squares. Measured at N = 1,000
 * (vis-nir NIR->RGB, 24 whole + 24 crop queries, learned descriptor; bench/results/first-stage-agreement.md): recall@30
 * whole / crop 95.8 / 75.0 with 1 (the best window), 100 / 87.5 with 5, 100 / 91.7 with 8 and 12.
 */
export const AGREEMENT = 8;

/**
 * Images ranked by the agreement of the query's vectors on them: for each vector, the image's best window it found;
 * the score is the mean of the image's `agreement` best of those. A vector that did not reach an image counts with the
 * similarity of the last window it returned (an upper bound of what it would have found there), best such first.
 * Ties: first seen. Each image keeps its best `places` distinct places:
 * windows whose centres are more than half the larger side from every better one (a whole-slide image is re-ranked
 * around each, services/rerank.service.ts).
 */
export function rankImages<Id>(hits: Iterable<WindowHit<Id>>, places = 1, agreement = AGREEMENT): ImageHit<Id>[] {
  const sorted = [...hits].sort((a, b) => b.similarity - a.similarity);
  const best = new Map<Id, ImageHit<Id> & { byQuery: Map<number, number> }>();
  /** Per query vector: the similarity of the last window it returned. */
  const floor = new Map<number, number>();
  for (const h of sorted) {
    const q = h.query;
    floor.set(q, Math.min(floor.get(q) ?? Infinity, h.similarity));
    const b = best.get(h.entryId);
    if (!b) {
      best.set(h.entryId, { entryId: h.entryId, score: h.similarity, window: h.window, places: [h.window], byQuery: new Map([[q, h.similarity]]) });
      continue;
    }
    if (!b.byQuery.has(q)) b.byQuery.set(q, h.similarity);
    if (b.places.length < places && b.places.every((p) => !samePlace(p, h.window))) b.places.push(h.window);
  }
  const floors = [...floor.entries()].sort((a, b) => b[1] - a[1]);
  const out: ImageHit<Id>[] = [];
  for (const { byQuery, ...hit } of best.values()) {
    // byQuery's values were set in descending order (hits sorted), so its first `agreement` are its best
    let sum = 0, n = 0;
    for (const v of byQuery.values()) {
      if (n === agreement) break;
      sum += v;
      n++;
    }
    for (const [q, v] of floors) {
      if (n === agreement) break;
      if (!byQuery.has(q)) {
        sum += v;
        n++;
      }
    }
    out.push({ ...hit, score: n ? sum / n : hit.score });
  }
  return out.sort((a, b) => b.score - a.score);
}

function samePlace(a: Region, b: Region): boolean {
  const dx = a.x + a.width / 2 - (b.x + b.width / 2), dy = a.y + a.height / 2 - (b.y + b.height / 2);
  return Math.hypot(dx, dy) <= Math.max(a.width, a.height, b.width, b.height) / 2;
}
