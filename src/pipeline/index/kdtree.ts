/**
 * Randomised kd-tree for approximate nearest-neighbour search with a limited number of checks, after FLANN's
 * KDTreeIndex (Muja & Lowe, VISAPP 2009) that MATLAB's `vision.internal.approximateKMeans` uses with 32 checks
 * (reference 1.2). Differences: one tree, leaves hold up to `leafSize` points (stored contiguously for cache
 * locality), and a search may start from a known candidate (its distance bounds the search from the start).
 *
 * Squared Euclidean distances throughout. Pure and allocation-free per query.
 */

/** Split dimension is drawn among the this-many highest-variance dimensions (FLANN RAND_DIM = 5). */
const RAND_DIM = 5;
/** Variance is estimated on at most this many points per node (FLANN SAMPLE_MEAN = 100). */
const SAMPLE_MEAN = 100;

/** Seeded PRNG (mulberry32), floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class KdTree {
  readonly dim: number;
  readonly size: number;
  /** Points in leaf order. */
  private readonly data: Float32Array;
  /** Original index of every row of `data`. */
  private readonly ids: Int32Array;
  private readonly nodeDim: Int32Array;
  private readonly nodeVal: Float32Array;
  private readonly nodeA: Int32Array; // left child, or leaf start
  private readonly nodeB: Int32Array; // right child, or leaf end
  private nNodes = 0;
  private readonly heapKey: Float64Array;
  private readonly heapNode: Int32Array;
  /** Squared distance of the last search's answer. */
  lastDistance = Infinity;

  /**
   * @param points n * dim values (not copied into the tree's own order until construction; the tree keeps a copy)
   * @param leafSize maximum points per leaf (8: 32 checks visit about 4 leaves)
   */
  constructor(points: Float32Array, dim: number, seed = 0, leafSize = 8) {
    const n = Math.floor(points.length / dim);
    this.dim = dim;
    this.size = n;
    const maxNodes = Math.max(1, 2 * Math.ceil(n / 1) + 1);
    this.nodeDim = new Int32Array(maxNodes);
    this.nodeVal = new Float32Array(maxNodes);
    this.nodeA = new Int32Array(maxNodes);
    this.nodeB = new Int32Array(maxNodes);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const rand = mulberry32(seed ^ 0x9e3779b9);
    const mean = new Float64Array(dim);
    const vari = new Float64Array(dim);
    const top = new Int32Array(RAND_DIM);
    // iterative build with an explicit stack: [node, start, end]
    const stack: number[] = [];
    const root = this.nNodes++;
    stack.push(root, 0, n);
    while (stack.length > 0) {
      const end = stack.pop()!, start = stack.pop()!, node = stack.pop()!;
      const cnt = end - start;
      if (cnt <= leafSize) {
        this.makeLeaf(node, start, end);
        continue;
      }
      // mean and variance per dimension on the first SAMPLE_MEAN points of a shuffled... (deterministic subsample)
      const m = Math.min(cnt, SAMPLE_MEAN);
      const stride = cnt / m;
      mean.fill(0);
      vari.fill(0);
      for (let s = 0; s < m; s++) {
        const b = idx[start + Math.floor(s * stride)] * dim;
        for (let j = 0; j < dim; j++) mean[j] += points[b + j];
      }
      for (let j = 0; j < dim; j++) mean[j] /= m;
      for (let s = 0; s < m; s++) {
        const b = idx[start + Math.floor(s * stride)] * dim;
        for (let j = 0; j < dim; j++) {
          const d = points[b + j] - mean[j];
          vari[j] += d * d;
        }
      }
      // the RAND_DIM dims of highest variance; pick one at random
      let nTop = 0;
      for (let j = 0; j < dim; j++) {
        if (nTop < RAND_DIM) top[nTop++] = j;
        else {
          let mi = 0;
          for (let t = 1; t < RAND_DIM; t++) if (vari[top[t]] < vari[top[mi]]) mi = t;
          if (vari[j] > vari[top[mi]]) top[mi] = j;
        }
      }
      const sd = top[Math.floor(rand() * nTop)];
      let sv = mean[sd];
      if (!(vari[sd] > 0)) {
        // all sampled points equal on every top dim: fall back to the widest dim over all points
        let best = -1, bestRange = 0;
        for (let j = 0; j < dim; j++) {
          let lo = Infinity, hi = -Infinity;
          for (let i = start; i < end; i++) {
            const v = points[idx[i] * dim + j];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
          if (hi - lo > bestRange) {
            bestRange = hi - lo;
            best = j;
            sv = (lo + hi) / 2;
          }
        }
        if (best < 0) {
          this.makeLeaf(node, start, end); // all identical
          continue;
        }
        this.nodeDim[node] = best;
      } else {
        this.nodeDim[node] = sd;
      }
      const d0 = this.nodeDim[node];
      // partition: < sv left, >= sv right
      let i = start, j = end - 1;
      while (i <= j) {
        if (points[idx[i] * dim + d0] < sv) i++;
        else {
          const t = idx[i];
          idx[i] = idx[j];
          idx[j] = t;
          j--;
        }
      }
      let mid = i;
      if (mid === start || mid === end) mid = start + (cnt >> 1); // degenerate: split by position
      this.nodeVal[node] = sv;
      const l = this.nNodes++, r = this.nNodes++;
      this.nodeA[node] = l;
      this.nodeB[node] = r;
      stack.push(l, start, mid, r, mid, end);
    }
    this.data = new Float32Array(n * dim);
    this.ids = idx;
    for (let i = 0; i < n; i++) this.data.set(points.subarray(idx[i] * dim, idx[i] * dim + dim), i * dim);
    this.heapKey = new Float64Array(this.nNodes + 1);
    this.heapNode = new Int32Array(this.nNodes + 1);
  }

  private makeLeaf(node: number, start: number, end: number): void {
    this.nodeDim[node] = -1;
    this.nodeA[node] = start;
    this.nodeB[node] = end;
  }

  /**
   * Approximate nearest neighbour of row `qOff / dim` of `q`: examines at most about `checks` points (whole leaves).
   * @param startId a known candidate (or -1), with its squared distance `startDist`: the answer is never worse.
   * @returns original index of the nearest point found; its squared distance is in `lastDistance`.
   */
  nearest(q: Float32Array, qOff: number, checks = 32, startId = -1, startDist = Infinity): number {
    const dim = this.dim, data = this.data, ids = this.ids;
    const nodeDim = this.nodeDim, nodeVal = this.nodeVal, nodeA = this.nodeA, nodeB = this.nodeB;
    const hk = this.heapKey, hn = this.heapNode;
    let best = startDist, bestId = startId;
    const unrolled = (dim & 7) === 0;
    let checked = 0, hsize = 0;
    let node = 0, mind = 0;
    for (;;) {
      // descend to a leaf, queueing the far branches
      let nd = nodeDim[node];
      while (nd >= 0) {
        const diff = q[qOff + nd] - nodeVal[node];
        let near: number, far: number;
        if (diff < 0) {
          near = nodeA[node];
          far = nodeB[node];
        } else {
          near = nodeB[node];
          far = nodeA[node];
        }
        const fd = mind + diff * diff;
        if (fd < best) {
          // heap push (min-heap on key)
          let i = hsize++;
          while (i > 0) {
            const p = (i - 1) >> 1;
            if (hk[p] <= fd) break;
            hk[i] = hk[p];
            hn[i] = hn[p];
            i = p;
          }
          hk[i] = fd;
          hn[i] = far;
        }
        node = near;
        nd = nodeDim[node];
      }
      // scan the leaf (partial distances: stop a row once it cannot beat the best)
      const end = nodeB[node];
      for (let p = nodeA[node]; p < end; p++) {
        const d = unrolled ? dist8(q, qOff, data, p * dim, dim, best) : distGeneric(q, qOff, data, p * dim, dim, best);
        checked++;
        if (d < best) {
          best = d;
          bestId = ids[p];
        }
      }
      if (checked >= checks) break;
      // pop the closest pending branch
      let found = false;
      while (hsize > 0) {
        const key = hk[0], top = hn[0];
        // heap pop
        hsize--;
        if (hsize > 0) {
          const lk = hk[hsize], ln = hn[hsize];
          let i = 0;
          for (;;) {
            const l = 2 * i + 1;
            if (l >= hsize) break;
            const r = l + 1;
            const c = r < hsize && hk[r] < hk[l] ? r : l;
            if (hk[c] >= lk) break;
            hk[i] = hk[c];
            hn[i] = hn[c];
            i = c;
          }
          hk[i] = lk;
          hn[i] = ln;
        }
        if (key < best) {
          node = top;
          mind = key;
          found = true;
          break;
        }
        hsize = 0; // min key >= best: nothing left can improve
      }
      if (!found) break;
    }
    this.lastDistance = best;
    return bestId;
  }
}

/** Squared distance, 8 values per step, early exit once >= bound (dim multiple of 8). */
function dist8(q: Float32Array, qo: number, d: Float32Array, b: number, dim: number, bound: number): number {
  let s = 0;
  for (let j = 0; j < dim; j += 8) {
    const t0 = q[qo + j] - d[b + j], t1 = q[qo + j + 1] - d[b + j + 1];
    const t2 = q[qo + j + 2] - d[b + j + 2], t3 = q[qo + j + 3] - d[b + j + 3];
    const t4 = q[qo + j + 4] - d[b + j + 4], t5 = q[qo + j + 5] - d[b + j + 5];
    const t6 = q[qo + j + 6] - d[b + j + 6], t7 = q[qo + j + 7] - d[b + j + 7];
    s += t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3 + t4 * t4 + t5 * t5 + t6 * t6 + t7 * t7;
    if (s >= bound) return s;
  }
  return s;
}

/** Squared distance for any dim, early exit every 16 values. */
function distGeneric(q: Float32Array, qo: number, d: Float32Array, b: number, dim: number, bound: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const t = q[qo + j] - d[b + j];
    s += t * t;
    if ((j & 15) === 15 && s >= bound) return s;
  }
  return s;
}
