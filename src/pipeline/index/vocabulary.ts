/**
 * Visual vocabulary: approximate k-means as MATLAB's `vision.internal.approximateKMeans` (reference 1.2; Philbin et
 * al., CVPR 2007): k-means++ seeding, Lloyd iterations whose assignment step uses an approximate nearest-centroid
 * search (randomised kd-tree, 32 checks, kdtree.ts), at most 100 iterations, stop when the relative change of the
 * sum of squared distances is <= 1e-4, empty clusters re-seeded with the farthest points; K = min(requested, count).
 *
 * Scalable seeding (documented deviation): exact k-means++ costs O(n * K * dim) (2M x 20k x 64 = 2.6e12 here), so
 * seeds come from k-means++ on a deterministic sample of at most max(K, min(n, 8K)) points, done in two levels when
 * K is large: k-means++ picks sqrt(K) coarse centres on the sample, each coarse cell receives a share of the K seeds
 * proportional to its D^2 mass (what k-means++ would give it in expectation), and k-means++ runs inside each cell.
 * Lloyd iterations then run on ALL descriptors.
 *
 * Assignment: each point starts from its previous centre (exact distance to that centre's new position), and the
 * kd-tree search only accepts a closer one; so approximate search never makes a point's assignment worse.
 * The assignment step runs on all cores (worker threads sharing memory, kmeans-pool.ts) in fixed chunks whose SSE
 * is added in chunk order, so the result is deterministic given the seed and independent of the thread count
 * (unit-tested). Seeding and the centroid update stay on the main thread.
 */
import { KdTree, mulberry32 } from './kdtree.ts';
import { sqDist } from './kmeans-assign.ts';
import { AssignPool, defaultThreads } from './kmeans-pool.ts';
import type { FeatureSet } from '../features/surf.ts';

/** Trained vocabulary: `size` centroids of `dim` values. */
export interface Vocabulary {
  readonly size: number;
  readonly dim: number;
  readonly centroids: Float32Array;
}

export interface TrainVocabularyOptions {
  /** Requested number of words (reference: 20,000); capped at the descriptor count. */
  size: number;
  seed: number;
  /** Default 100 (reference 1.2). */
  maxIterations?: number;
  /** Relative change of the sum of squared distances to stop at; default 1e-4 (reference 1.2). */
  tolerance?: number;
  /**
   * If set (e.g. 0.8), only this fraction of the rows is used, the ones with the largest `strengths`
   * (reference 1.2, StrongestFeatures). Requires `strengths`. Default: use all rows (the caller already selected,
   * e.g. with `selectStrongest`).
   */
  strongestFraction?: number;
  strengths?: Float32Array;
  /** kd-tree checks per assignment (FLANN / MATLAB: 32). */
  checks?: number;
  onProgress?: (iteration: number, total: number) => void;
  /**
   * Threads for the assignment step (default: all cores, `defaultThreads()`); the result does not depend on it.
   * Worker threads are only started when there are at least PARALLEL_MIN_POINTS rows.
   */
  threads?: number;
}

/** Details of a training run (for logs and benchmarks). */
export interface TrainingReport {
  iterations: number;
  converged: boolean;
  sse: number[];
  reseeded: number;
  seedingMs: number;
  totalMs: number;
  /** Threads the assignment step ran on. */
  threads: number;
}

/** Default maximum Lloyd iterations (reference 1.2). */
export const DEFAULT_MAX_ITERATIONS = 100;
/** Default relative SSE-change tolerance (reference 1.2). */
export const DEFAULT_TOLERANCE = 1e-4;
/** kd-tree checks (FLANN-like, reference 1.2). */
export const DEFAULT_CHECKS = 32;
/**
 * Fewest rows for which worker threads are started: starting one costs ~0.35 s (tsx compiles its modules; measured
 * with `node bin/cmir.js` and vitest), about one assignment step of 100k points against 2k words on this machine.
 */
export const PARALLEL_MIN_POINTS = 100_000;
/** StrongestFeatures default (reference 1.2). */
export const DEFAULT_STRONGEST_FRACTION = 0.8;

/**
 * Plain k-means++ (Arthur & Vassilvitskii 2007) on the rows `rows` of `data`: returns `k` row indices (into `rows`).
 * O(|rows| * k * dim). Also returns each row's nearest chosen seed and squared distance.
 */
function kmeansPlusPlus(data: Float32Array, dim: number, rows: Int32Array, k: number, rand: () => number): { seeds: Int32Array; nearest: Int32Array; d2: Float64Array } {
  const m = rows.length;
  const seeds = new Int32Array(k);
  const nearest = new Int32Array(m);
  const d2 = new Float64Array(m).fill(Infinity);
  const chosen = new Uint8Array(m);
  let total = 0;
  for (let c = 0; c < k; c++) {
    let pick: number;
    if (c === 0 || !(total > 0)) {
      pick = Math.floor(rand() * m);
      // keep seeds distinct when D^2 mass is exhausted (duplicates)
      for (let t = 0; chosen[pick] && t < m; t++) pick = (pick + 1) % m;
    } else {
      let r = rand() * total;
      pick = m - 1;
      for (let i = 0; i < m; i++) {
        r -= d2[i];
        if (r < 0) {
          pick = i;
          break;
        }
      }
      while (chosen[pick] || !(d2[pick] > 0)) {
        // numerical edge: walk to the next point with mass
        pick = (pick + 1) % m;
      }
    }
    chosen[pick] = 1;
    seeds[c] = pick;
    const po = rows[pick] * dim;
    total = 0;
    for (let i = 0; i < m; i++) {
      const di = d2[i];
      if (di > 0) {
        const d = sqDist(data, rows[i] * dim, data, po, dim);
        if (d < di) {
          d2[i] = d;
          nearest[i] = c;
        }
      }
      total += d2[i];
    }
  }
  return { seeds, nearest, d2 };
}

/** Distribute `k` seeds over cells proportionally to `mass`, each cell at least 1 and at most its size. */
function allocate(k: number, mass: Float64Array, cap: Int32Array): Int32Array {
  const c = mass.length;
  const out = new Int32Array(c);
  let left = k;
  for (let j = 0; j < c; j++) if (cap[j] > 0) { out[j] = 1; left--; }
  // largest remainder on the rest, respecting caps, iterated until all are placed
  while (left > 0) {
    let totalMass = 0;
    for (let j = 0; j < c; j++) if (out[j] < cap[j]) totalMass += mass[j] > 0 ? mass[j] : 1e-12;
    if (!(totalMass > 0)) break;
    const want = new Float64Array(c);
    let placed = 0;
    for (let j = 0; j < c; j++) {
      if (out[j] >= cap[j]) continue;
      want[j] = (left * (mass[j] > 0 ? mass[j] : 1e-12)) / totalMass;
      const add = Math.min(cap[j] - out[j], Math.floor(want[j]));
      out[j] += add;
      placed += add;
      want[j] -= add;
    }
    left -= placed;
    if (left > 0 && placed === 0) {
      // give one each to the largest remainders
      const order = [...Array(c).keys()].filter((j) => out[j] < cap[j]).sort((a, b) => want[b] - want[a] || a - b);
      for (const j of order) {
        if (left === 0) break;
        out[j]++;
        left--;
      }
    }
  }
  return out;
}

/** Seeds (as data row indices) by sampled, two-level k-means++ (see the module comment). */
function seedCentres(data: Float32Array, dim: number, n: number, k: number, rand: () => number): Int32Array {
  // sample: deterministic random subset (partial Fisher-Yates on indices)
  const m = Math.min(n, Math.max(k, 8 * k));
  let sample: Int32Array;
  if (m === n) {
    sample = new Int32Array(n);
    for (let i = 0; i < n; i++) sample[i] = i;
  } else {
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(rand() * (n - i));
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    sample = perm.slice(0, m);
  }
  // one level suffices while m * k stays small (about 3e8 distance terms / 64)
  if (m * k <= 5e6 || k < 64) {
    const { seeds } = kmeansPlusPlus(data, dim, sample, k, rand);
    return seeds.map((s) => sample[s]);
  }
  const c = Math.ceil(Math.sqrt(k));
  const coarse = kmeansPlusPlus(data, dim, sample, c, rand);
  const mass = new Float64Array(c);
  const cap = new Int32Array(c);
  for (let i = 0; i < m; i++) {
    mass[coarse.nearest[i]] += coarse.d2[i];
    cap[coarse.nearest[i]]++;
  }
  const share = allocate(k, mass, cap);
  // rows of each cell
  const cellStart = new Int32Array(c + 1);
  for (let j = 0; j < c; j++) cellStart[j + 1] = cellStart[j] + cap[j];
  const fill = cellStart.slice(0, c);
  const byCell = new Int32Array(m);
  for (let i = 0; i < m; i++) byCell[fill[coarse.nearest[i]]++] = sample[i];
  const out = new Int32Array(k);
  let o = 0;
  for (let j = 0; j < c; j++) {
    if (share[j] === 0) continue;
    const rows = byCell.subarray(cellStart[j], cellStart[j + 1]);
    const { seeds } = kmeansPlusPlus(data, dim, rows, share[j], rand);
    for (let t = 0; t < seeds.length; t++) out[o++] = rows[seeds[t]];
  }
  return o === k ? out : out.slice(0, o);
}

/**
 * Train a vocabulary by approximate k-means (see the module comment).
 * @param descriptors n * dim values (row-major)
 * @returns the vocabulary; `report` details the run
 */
export function trainVocabulary(descriptors: Float32Array, dim: number, opts: TrainVocabularyOptions): Vocabulary & { report: TrainingReport } {
  const t0 = performance.now();
  let data = descriptors;
  let n = Math.floor(descriptors.length / dim);
  if (opts.strongestFraction !== undefined && opts.strongestFraction < 1) {
    if (!opts.strengths || opts.strengths.length !== n) throw new RangeError('strongestFraction needs one strength per row');
    data = selectStrongestRows(descriptors, dim, opts.strengths, opts.strongestFraction);
    n = Math.floor(data.length / dim);
  }
  const k = Math.min(Math.floor(opts.size), n);
  if (!(k >= 1)) throw new RangeError('vocabulary needs at least one descriptor and size >= 1');
  const maxIt = opts.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const tol = opts.tolerance ?? DEFAULT_TOLERANCE;
  const checks = opts.checks ?? DEFAULT_CHECKS;
  const rand = mulberry32(opts.seed);

  // workers start (and compile) while the main thread seeds
  const threads = n >= PARALLEL_MIN_POINTS ? Math.max(1, Math.floor(opts.threads ?? defaultThreads())) : 1;
  const pool = new AssignPool(data, dim, n, k, checks, threads);
  const seedRows = seedCentres(data, dim, n, k, rand);
  const kk = seedRows.length;
  const centroids = pool.centroids;
  for (let c = 0; c < kk; c++) centroids.set(data.subarray(seedRows[c] * dim, seedRows[c] * dim + dim), c * dim);
  const seedingMs = performance.now() - t0;
  const assign = pool.assign;
  const dist = pool.dist;
  const sums = new Float64Array(kk * dim);
  const counts = new Int32Array(kk);
  const sse: number[] = [];
  let converged = false, reseeded = 0, it = 0, usedThreads = 1;
  try {
    for (it = 1; it <= maxIt; it++) {
      const total = pool.assignAll(kk, opts.seed + it);
    if (it === 1) usedThreads = pool.threads;
      sse.push(total);
      // update
      sums.fill(0);
      counts.fill(0);
      for (let i = 0; i < n; i++) {
        const c = assign[i];
        counts[c]++;
        const so = c * dim, io = i * dim;
        for (let j = 0; j < dim; j++) sums[so + j] += data[io + j];
      }
      const empty: number[] = [];
      for (let c = 0; c < kk; c++) {
        if (counts[c] === 0) {
          empty.push(c);
          continue;
        }
        const inv = 1 / counts[c];
        for (let j = 0; j < dim; j++) centroids[c * dim + j] = sums[c * dim + j] * inv;
      }
      if (empty.length > 0) {
        // re-seed with the farthest points (reference 1.2), each point used once
        const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => dist[b] - dist[a] || a - b);
        for (let e = 0; e < empty.length && e < n; e++) {
          const p = order[e];
          centroids.set(data.subarray(p * dim, p * dim + dim), empty[e] * dim);
          assign[p] = empty[e];
          dist[p] = 0;
        }
        reseeded += empty.length;
      }
      opts.onProgress?.(it, maxIt);
      if (sse.length >= 2) {
        const prev = sse[sse.length - 2];
        if (Math.abs(prev - total) <= tol * Math.max(prev, Number.MIN_VALUE) && empty.length === 0) {
          converged = true;
          break;
        }
      }
      if (total === 0 && empty.length === 0) {
        converged = true;
        break;
      }
    }
  } finally {
    pool.close();
  }
  return {
    size: kk, dim, centroids: centroids.slice(0, kk * dim),
    report: { iterations: Math.min(it, maxIt), converged, sse, reseeded, seedingMs, totalMs: performance.now() - t0, threads: usedThreads },
  };
}

/** Rows of `data` with the largest strengths: round(fraction * n) of them, in their original order. */
function selectStrongestRows(data: Float32Array, dim: number, strengths: Float32Array, fraction: number): Float32Array {
  const n = strengths.length;
  const keep = Math.round(fraction * n);
  if (keep >= n) return data;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => strengths[b] - strengths[a] || a - b);
  const sel = order.subarray(0, keep).sort();
  const out = new Float32Array(keep * dim);
  for (let i = 0; i < keep; i++) out.set(data.subarray(sel[i] * dim, sel[i] * dim + dim), i * dim);
  return out;
}

/**
 * The reference's `trimDescriptors` (reference 1.2): pool ALL descriptors of the given feature sets, keep the
 * round(fraction * total) strongest (strength = descriptor variance), ties by pooled order.
 * @param fraction default 0.8 (StrongestFeatures)
 * @returns the kept descriptors, row-major, in pooled order
 */
export function selectStrongest(features: FeatureSet | readonly FeatureSet[], fraction = DEFAULT_STRONGEST_FRACTION): Float32Array {
  const sets = Array.isArray(features) ? (features as readonly FeatureSet[]) : [features as FeatureSet];
  const total = sets.reduce((s, f) => s + f.count, 0);
  const dim = sets[0]?.dim ?? 64;
  const data = new Float32Array(total * dim);
  const strengths = new Float32Array(total);
  let o = 0;
  for (const f of sets) {
    data.set(f.descriptors.subarray(0, f.count * dim), o * dim);
    strengths.set(f.strength.subarray(0, f.count), o);
    o += f.count;
  }
  return selectStrongestRows(data, dim, strengths, fraction);
}

/** Word assignment with a search structure built once per vocabulary. */
export interface Quantizer {
  readonly vocabulary: Vocabulary;
  /** Nearest word of every row (approximate, `checks` as in training). */
  quantize(descriptors: Float32Array): Uint16Array | Uint32Array;
  /** Nearest word of one row at `offset` (values). */
  nearest(descriptors: Float32Array, offset: number): number;
}

/**
 * Build the search structure of a vocabulary (kd-tree, 32 checks like the reference's encoding, reference 1.2).
 * Deterministic: the tree is built with a fixed seed, so the same descriptors always get the same words.
 */
export function createQuantizer(vocab: Vocabulary, checks = DEFAULT_CHECKS): Quantizer {
  const tree = new KdTree(vocab.centroids, vocab.dim, 0x5eed);
  const dim = vocab.dim;
  return {
    vocabulary: vocab,
    quantize(descriptors: Float32Array): Uint16Array | Uint32Array {
      const n = Math.floor(descriptors.length / dim);
      const out = vocab.size <= 65536 ? new Uint16Array(n) : new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = tree.nearest(descriptors, i * dim, checks);
      return out;
    },
    nearest(descriptors: Float32Array, offset: number): number {
      return tree.nearest(descriptors, offset, checks);
    },
  };
}

const quantizerCache = new WeakMap<Vocabulary, Quantizer>();

/** Nearest word per descriptor row; caches the quantizer per vocabulary object. Uint16Array when size <= 65536. */
export function quantize(vocab: Vocabulary, descriptors: Float32Array): Uint16Array | Uint32Array {
  let q = quantizerCache.get(vocab);
  if (!q) {
    q = createQuantizer(vocab);
    quantizerCache.set(vocab, q);
  }
  return q.quantize(descriptors);
}

const MAGIC = 'CMVO';
const HEADER = 16;

/** Serialise: "CMVO", u32 LE version (1), size, dim, then size*dim Float32 LE. */
export function serializeVocabulary(vocab: Vocabulary): Buffer {
  const buf = Buffer.alloc(HEADER + vocab.size * vocab.dim * 4);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(1, 4);
  buf.writeUInt32LE(vocab.size, 8);
  buf.writeUInt32LE(vocab.dim, 12);
  for (let i = 0; i < vocab.size * vocab.dim; i++) buf.writeFloatLE(vocab.centroids[i], HEADER + 4 * i);
  return buf;
}

/** Inverse of serializeVocabulary. */
export function deserializeVocabulary(buf: Uint8Array): Vocabulary {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < HEADER || b.toString('latin1', 0, 4) !== MAGIC || b.readUInt32LE(4) !== 1) throw new Error('not a cmir vocabulary (v1)');
  const size = b.readUInt32LE(8), dim = b.readUInt32LE(12);
  if (b.length !== HEADER + size * dim * 4) throw new Error('vocabulary length mismatch');
  const centroids = new Float32Array(size * dim);
  for (let i = 0; i < size * dim; i++) centroids[i] = b.readFloatLE(HEADER + 4 * i);
  return { size, dim, centroids };
}
