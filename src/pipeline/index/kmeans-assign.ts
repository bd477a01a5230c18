/**
 * The assignment step of approximate k-means (vocabulary.ts), split into fixed chunks so that it can run on several
 * threads (kmeans-pool.ts, kmeans-assign-worker.ts) with results that do not depend on the number of threads: every
 * point's search only reads the shared centroids and the kd-tree (built from the same centroids with the same seed in
 * every thread), and the sum of squared distances is kept per chunk and added in chunk order.
 */
import { KdTree } from './kdtree.ts';

/**
 * Points per chunk. Large enough that taking a chunk (one atomic add) is negligible, small enough that two threads
 * finish within a few ms of each other (2 M points = 123 chunks; a chunk takes ~40 ms on this machine's cores at
 * ~2.5 us per search, measured with bench/vocabulary.ts).
 */
export const ASSIGN_CHUNK = 16_384;

/** Squared Euclidean distance between row `ao` of `a` and row `bo` of `b`. */
export function sqDist(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let d = 0;
  for (let j = 0; j < dim; j++) {
    const t = a[ao + j] - b[bo + j];
    d += t * t;
  }
  return d;
}

/**
 * Assigns points [lo, hi): each starts from its previous centre (exact distance to that centre's new position) and
 * the kd-tree search only accepts a closer one, so an assignment never gets worse.
 * @returns the sum of the squared distances of the chunk's points
 */
export function assignRange(tree: KdTree, data: Float32Array, centroids: Float32Array, dim: number, checks: number,
  assign: Int32Array, dist: Float32Array, lo: number, hi: number): number {
  let total = 0;
  for (let i = lo; i < hi; i++) {
    const io = i * dim;
    const prev = assign[i];
    const d0 = prev >= 0 ? sqDist(data, io, centroids, prev * dim, dim) : Infinity;
    const c = tree.nearest(data, io, checks, prev, d0);
    assign[i] = c;
    const d = tree.lastDistance;
    dist[i] = d;
    total += d;
  }
  return total;
}

/** Control words of the shared Int32Array that drives the workers. */
export const CTRL = {
  /** Incremented by the main thread for every command; workers wait on it. */
  generation: 0,
  /** Command: 1 = assign with the centroids in the shared buffer, 2 = exit. */
  command: 1,
  /** Next chunk to take (Atomics.add). */
  nextChunk: 2,
  /** Workers that finished the current command. */
  done: 3,
  /** Workers that have started and are waiting for commands. */
  ready: 4,
  /** kd-tree seed of the current iteration. */
  seed: 5,
  /** Number of centroids. */
  k: 6,
  /** Set to 1 by a worker that failed (the main thread then does the rest alone). */
  failed: 7,
  size: 8,
} as const;

/** Everything a worker needs, as shared memory (passed once as workerData). */
export interface AssignShared {
  dim: number;
  n: number;
  checks: number;
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  centroids: SharedArrayBuffer;
  assign: SharedArrayBuffer;
  dist: SharedArrayBuffer;
  chunkSse: SharedArrayBuffer;
}

/**
 * Takes chunks until none is left (shared by the main thread and the workers).
 * @param tree kd-tree over the first k centroids
 */
export function runChunks(tree: KdTree, ctrl: Int32Array, data: Float32Array, centroids: Float32Array, dim: number, n: number,
  checks: number, assign: Int32Array, dist: Float32Array, chunkSse: Float64Array): void {
  const nChunks = Math.ceil(n / ASSIGN_CHUNK);
  for (;;) {
    const c = Atomics.add(ctrl, CTRL.nextChunk, 1);
    if (c >= nChunks) return;
    const lo = c * ASSIGN_CHUNK;
    chunkSse[c] = assignRange(tree, data, centroids, dim, checks, assign, dist, lo, Math.min(n, lo + ASSIGN_CHUNK));
  }
}
