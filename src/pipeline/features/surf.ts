/**
 * Dense SURF-64 on a regular grid, as MATLAB's `bagOfFeatures` extracts it with its default settings
 * (../shared/guide/reference-pipeline.md section 1.2): grid step 8 px, first point at MATLAB pixel 4 (1-based),
 * every grid point described at the 4 SURF scales 1.6/3.2/4.8/6.4 (BlockWidth 32/64/96/128 = 20 * scale),
 * upright, 64-D, unit L2-normalised; "strength" = variance of the 64 values.
 *
 * The descriptor follows Bay, Ess, Tuytelaars, Van Gool, "SURF: Speeded Up Robust Features", CVIU 110 (2008),
 * section 4.2: a square window of side 20s around the point, split into 4x4 sub-regions; in each sub-region
 * Haar wavelet responses of side 2s are taken at 5x5 regularly spaced sample points (spacing s), weighted with a
 * Gaussian (sigma = 3.3s) centred at the point, and summed to (sum dx, sum |dx|, sum dy, sum |dy|).
 * The `oriented` variant first assigns a dominant orientation (Bay et al. section 4.1: Haar responses of side 4s
 * at spacing s within a circle of radius 6s, Gaussian sigma = 2s, longest summed vector of a sliding window of
 * pi/3) and computes the descriptor in the rotated frame (axis-aligned Haar boxes at rotated sample positions,
 * responses rotated into the frame, as in OpenSURF).
 *
 * Conventions (documented because they decide exactness, not only speed):
 * - Coordinates are 0-based pixel indices; a pixel's centre is at its integer index. MATLAB grid point 4, 12, ...
 *   (1-based) is pixel 3, 11, ... here: `start` defaults to 3. Points run while `x <= width - 1`, so a 256 px
 *   side gives 32 points and 834 px gives 104 (reference 1.2 counts).
 * - Borders: no point is dropped (reference 1.2: MATLAB reuses all grid locations). Samples whose Haar box leaves
 *   the image read a replicate-padded ("clamp to edge") copy of the image, i.e. every pixel outside takes the value
 *   of the nearest border pixel. This keeps descriptors invariant to adding a constant (zero padding would create a
 *   fake edge at the border) and commutes with 90-degree rotations of the image.
 * - Haar boxes have even side 2h with h = max(1, round(s)) for the descriptor (2s in Bay et al.) and
 *   h = max(1, round(2s)) for the orientation (4s). A box of even side is centred on a pixel corner, so every sample
 *   position is snapped to the nearest pixel corner with an odd-symmetric rule (`cornerOffset`), which makes the
 *   sample pattern exactly symmetric under 90-degree rotations (unit-tested).
 * - Orientation samples sit at offsets (i + 0.5)s, i = -6..5 (OpenSURF uses i*s, i = -6..6; the half step keeps the
 *   box centres on pixel corners while staying symmetric). The sliding window moves in 5-degree steps (72 bins, so
 *   a 90-degree rotation is an exact bin shift; OpenSURF steps 0.15 rad); the orientation is the angle of the
 *   summed vector in the best window.
 * - A flat patch gives an all-zero descriptor (no normalisation by zero) with strength 0.
 */
import type { GreyImage } from '../types.ts';

/** Descriptor length of SURF-64 (Bay et al. 2008 section 4.2: 4x4 sub-regions x 4 sums). */
export const SURF_DIM = 64;
/** MATLAB bagOfFeatures `GridStep` default [8 8] (reference 1.2). */
export const DEFAULT_GRID_STEP = 8;
/** First grid coordinate, 0-based: MATLAB's round(GridStep/2) = 4 (1-based) minus 1 (reference 1.2). */
export const DEFAULT_GRID_START = 3;
/** SURF scales 1.6 * BlockWidth / 32 for BlockWidth [32 64 96 128] (reference 1.2). */
export const DEFAULT_SURF_SCALES: readonly number[] = Object.freeze([1.6, 3.2, 4.8, 6.4]);

/** Side of the descriptor window in units of s (Bay et al. 2008 sec. 4.2). */
const WINDOW_SAMPLES = 20;
/** Gaussian sigma of the descriptor weights, in units of s (Bay et al. 2008 sec. 4.2). */
const DESC_SIGMA = 3.3;
/** Radius of the orientation neighbourhood, in units of s (Bay et al. 2008 sec. 4.1). */
const ORI_RADIUS = 6;
/** Gaussian sigma of the orientation weights, in units of s (Bay et al. 2008 sec. 4.1: 2s). */
const ORI_SIGMA = 2;
/** Number of angular bins (5 degrees each) for the sliding orientation window. */
const ORI_BINS = 72;
/** Sliding window of pi/3 (Bay et al. 2008 sec. 4.1) = 12 bins of 5 degrees. */
const ORI_WINDOW_BINS = 12;

/** Options of the dense grid. All default to the reference (MATLAB bagOfFeatures defaults). */
export interface DenseGridOptions {
  /** Grid step in px (default 8). */
  step?: number;
  /** First grid coordinate, 0-based px (default 3 = MATLAB's 4). */
  start?: number;
  /** SURF scales s (default 1.6, 3.2, 4.8, 6.4). */
  scales?: readonly number[];
  /** Assign a dominant orientation per point and scale (default false = upright, the reference). */
  oriented?: boolean;
}

/**
 * Dense descriptors of one image. Descriptor i sits at grid position (gx, gy) and scale `scaleIndex[i]`, with
 * i = ((gy * gridWidth + gx) * nScales + scaleIndex), so a word map is addressable by grid position.
 */
export interface FeatureSet {
  readonly count: number;
  readonly dim: 64;
  /** count * 64 values, row-major, every row unit L2 norm (or all zero on flat patches). */
  readonly descriptors: Float32Array;
  /** 0-based pixel x of every descriptor's grid point. */
  readonly x: Float32Array;
  /** 0-based pixel y of every descriptor's grid point. */
  readonly y: Float32Array;
  readonly scaleIndex: Uint8Array;
  /** Variance of the 64 values (MATLAB `var`, normalised by 63): the reference's feature strength. */
  readonly strength: Float32Array;
  /** Orientation in radians per descriptor (image frame, y axis down); only for the oriented variant. */
  readonly orientation?: Float32Array;
  readonly gridWidth: number;
  readonly gridHeight: number;
  readonly nScales: number;
  /** Grid step and start used (px, 0-based). */
  readonly step: number;
  readonly start: number;
  readonly scales: readonly number[];
}

/** Number of grid points along a side of `size` px. */
export function gridCount(size: number, start = DEFAULT_GRID_START, step = DEFAULT_GRID_STEP): number {
  return size - 1 >= start ? Math.floor((size - 1 - start) / step) + 1 : 0;
}

/**
 * Offset, in pixel corners, of a sample at continuous offset q (px) from a pixel centre: the nearest corner,
 * chosen odd-symmetrically (q > 0: floor(q) + 1, q <= 0: -floor(-q)), so the offsets of -q mirror those of q.
 */
function cornerOffset(q: number): number {
  return q > 0 ? Math.floor(q) + 1 : -Math.floor(-q);
}

/**
 * `cornerOffset` for |q| < 2^31 without Math.floor: truncation toward zero equals floor(q) for q > 0 and
 * -floor(-q) for q <= 0, so the result is bit-identical (checked against `cornerOffset` in the unit tests).
 */
function cornerOffsetFast(q: number): number {
  return (q | 0) + (q > 0 ? 1 : 0);
}
/** Exposed for the equivalence unit test only. */
export const _cornerOffsetForTest = { exact: cornerOffset, fast: cornerOffsetFast };

interface HaarMaps {
  dx: Float32Array;
  dy: Float32Array;
}

/** Replicate-padded integral image, Float64, (wp+1) x (hp+1); corner (i, j) = sum of rows < j, cols < i. */
function paddedIntegral(img: GreyImage, margin: number): { ii: Float64Array; stride: number; wp: number; hp: number } {
  const { width: w, height: h, data } = img;
  const wp = w + 2 * margin;
  const hp = h + 2 * margin;
  const stride = wp + 1;
  const ii = new Float64Array(stride * (hp + 1));
  const rowBuf = new Float64Array(wp);
  for (let j = 0; j < hp; j++) {
    const sy = Math.min(h - 1, Math.max(0, j - margin));
    const src = sy * w;
    const left = data[src], right = data[src + w - 1];
    for (let i = 0; i < margin; i++) rowBuf[i] = left;
    for (let i = 0; i < w; i++) rowBuf[margin + i] = data[src + i];
    for (let i = margin + w; i < wp; i++) rowBuf[i] = right;
    const prev = j * stride;
    const cur = (j + 1) * stride;
    let acc = 0;
    ii[cur] = 0;
    for (let i = 0; i < wp; i++) {
      acc += rowBuf[i];
      ii[cur + i + 1] = ii[prev + i + 1] + acc;
    }
  }
  return { ii, stride, wp, hp };
}

/**
 * Haar responses of side 2h at every pixel corner (i, j): dx = right half - left half, dy = bottom half - top half
 * (Bay et al. 2008 Fig. 9; image y axis points down). Corners closer than h to the padded border stay 0; the margin
 * is chosen so that no sample reads them.
 */
function haarMaps(ii: Float64Array, stride: number, wp: number, hp: number, h: number, lo: number): HaarMaps {
  const n = stride * (hp + 1);
  const dx = new Float32Array(n);
  const dy = new Float32Array(n);
  // Only corners in [lo, size - lo] are ever sampled for this h (lo >= h); the rest stay 0.
  const j0 = Math.max(h, lo), i0 = Math.max(h, lo);
  for (let j = j0; j <= hp - j0; j++) {
    const a = (j - h) * stride;
    const m = j * stride;
    const b = (j + h) * stride;
    for (let i = i0; i <= wp - i0; i++) {
      // column-strip sums (rows j-h..j+h) of columns < c: D(c) = ii[b+c] - ii[a+c]
      const dL = ii[b + i - h] - ii[a + i - h];
      const dC = ii[b + i] - ii[a + i];
      const dR = ii[b + i + h] - ii[a + i + h];
      dx[m + i] = dR - 2 * dC + dL;
      // row-strip sums (cols i-h..i+h) of rows < r: E(r) = ii[r+i+h] - ii[r+i-h]
      const eT = ii[a + i + h] - ii[a + i - h];
      const eC = ii[m + i + h] - ii[m + i - h];
      const eB = ii[b + i + h] - ii[b + i - h];
      dy[m + i] = eB - 2 * eC + eT;
    }
  }
  return { dx, dy };
}

/** Fast atan2 in [0, 2pi), max error about 1e-5 rad; exactly quadrant-symmetric (used only for binning). */
function fastAngle(y: number, x: number): number {
  const ax = x < 0 ? -x : x;
  const ay = y < 0 ? -y : y;
  const mx = ax > ay ? ax : ay;
  if (mx === 0) return 0;
  const mn = ax > ay ? ay : ax;
  const t = mn / mx;
  const t2 = t * t;
  // minimax polynomial for atan on [0, 1] (Abramowitz-Stegun 4.4.49 style, 9th order, |err| < 1e-5)
  let r = t * (0.9998660 + t2 * (-0.3302995 + t2 * (0.1801410 + t2 * (-0.0851330 + t2 * 0.0208351))));
  if (ay > ax) r = 1.5707963267948966 - r;
  if (x < 0) r = 3.141592653589793 - r;
  if (y < 0) r = 6.283185307179586 - r;
  return r >= 6.283185307179586 ? 0 : r;
}

/**
 * Dominant orientation (Bay et al. 2008 sec. 4.1): weighted Haar responses binned by angle into 72 bins of 5 degrees;
 * the window of pi/3 (12 bins) with the longest summed vector gives the angle of that vector.
 */
function dominantOrientation(odx: Float32Array, ody: Float32Array, base: number, oo: Int32Array, ow: Float64Array,
  binX: Float64Array, binY: Float64Array, binScale: number): number {
  binX.fill(0);
  binY.fill(0);
  for (let k = 0; k < oo.length; k++) {
    const o = base + oo[k];
    const rx = odx[o] * ow[k];
    const ry = ody[o] * ow[k];
    if (rx === 0 && ry === 0) continue;
    let bin = (fastAngle(ry, rx) * binScale) | 0;
    if (bin >= ORI_BINS) bin = ORI_BINS - 1;
    binX[bin] += rx;
    binY[bin] += ry;
  }
  let wx = 0, wy = 0;
  for (let b = 0; b < ORI_WINDOW_BINS; b++) {
    wx += binX[b];
    wy += binY[b];
  }
  let bestX = wx, bestY = wy, best = wx * wx + wy * wy;
  for (let b = 0; b < ORI_BINS - 1; b++) {
    const nb = (b + ORI_WINDOW_BINS) % ORI_BINS;
    wx += binX[nb] - binX[b];
    wy += binY[nb] - binY[b];
    const m = wx * wx + wy * wy;
    if (m > best) {
      best = m;
      bestX = wx;
      bestY = wy;
    }
  }
  return best > 0 ? Math.atan2(bestY, bestX) : 0;
}

/** Descriptor in the frame rotated by theta (cos c, sin sn): rotated sample positions, responses rotated into the frame. */
function describeRotated(mdx: Float32Array, mdy: Float32Array, base: number, stride: number, axis: Float64Array,
  sampW: Float64Array, c: number, sn: number, desc: Float64Array, rot: Float64Array): void {
  // Rotated sample positions ox = c*u - sn*v, oy = sn*u + c*v with u, v from the 20 axis values: the four products
  // per axis value are computed once per point (same operands, so the same doubles as computing them per sample).
  for (let a = 0; a < WINDOW_SAMPLES; a++) {
    const q = axis[a];
    rot[a] = c * q;
    rot[WINDOW_SAMPLES + a] = sn * q;
  }
  const sub = WINDOW_SAMPLES / 4;
  for (let r = 0, k = 0; r < 16; r++) {
    let sdx = 0, sadx = 0, sdy = 0, sady = 0;
    const ux0 = (r & 3) * sub, vy0 = (r >> 2) * sub;
    for (let t = 0; t < 25; t++, k++) {
      const iu = ux0 + (t % sub), iv = vy0 + ((t / sub) | 0);
      const ox = rot[iu] - rot[WINDOW_SAMPLES + iv];
      const oy = rot[WINDOW_SAMPLES + iu] + rot[iv];
      const o = base + cornerOffsetFast(oy) * stride + cornerOffsetFast(ox);
      const w = sampW[k];
      const gx0 = mdx[o], gy0 = mdy[o];
      const a = (c * gx0 + sn * gy0) * w;
      const b = (c * gy0 - sn * gx0) * w;
      sdx += a;
      sadx += Math.abs(a);
      sdy += b;
      sady += Math.abs(b);
    }
    const q = r * 4;
    desc[q] = sdx;
    desc[q + 1] = sadx;
    desc[q + 2] = sdy;
    desc[q + 3] = sady;
  }
}

/** Reusable buffers of the upright path (grown on demand, one set per `denseSurf` call). */
interface UprightWork {
  desc: Float64Array;
}

/**
 * All upright descriptors of one scale, separably and with shared work (same values as sampling 20x20 Haar responses
 * per point, Bay et al. 2008 sec. 4.2, up to float rounding):
 * - The Gaussian weight factorises, exp(-(u^2+v^2)/2sigma^2) = g(u) g(v), and |g dx| = g |dx| (g > 0), so every
 *   sub-region sum is sum_v g(v) sum_u g(u) f(v, u): a horizontal pass then a vertical pass.
 * - The grid step (8 px) is much smaller than the window (32-128 px): one image row is a sample row of several grid
 *   points (5 samples span 8*s/1.6 px, so with s a multiple of 1.6 about 4 of the 20 sample rows of a point are
 *   shared with each vertical neighbour). The horizontal pass is therefore done once per distinct sample ROW and
 *   grid column (16 sums: 4 sub-region columns x (dx, |dx|, dy, |dy|)), kept in a ring buffer of rows, and the
 *   vertical pass of each point combines 20 of those rows.
 * - Haar responses are evaluated only at the distinct sample rows x distinct sample columns (about (5/8)^2 of the
 *   pixels), directly from the integral image, rounded to Float32 as the former full response maps stored them.
 */
function uprightScale(ii: Float64Array, stride: number, h: number, s: number, gw: number, gh: number, start: number,
  step: number, margin: number, nS: number, si: number, out: Float32Array, strength: Float32Array, work: UprightWork): void {
  const W = WINDOW_SAMPLES, sub = W / 4;
  // 1-D sample offsets (corners) and Gaussian factors; same expressions as the 2-D tables of the frozen version.
  const off = new Int32Array(W);
  const g = new Float64Array(W);
  const sig2 = 2 * (DESC_SIGMA * s) * (DESC_SIGMA * s);
  for (let k = 0; k < W; k++) {
    const u = (k - (W / 2 - 0.5)) * s;
    off[k] = cornerOffset(u);
    g[k] = Math.exp(-(u * u) / sig2);
  }
  // distinct sample columns / rows (padded coordinates) and every point's indices into them
  const distinct = (n: number): { list: Int32Array; idx: Int32Array } => {
    const lo = start + margin + off[0], hi = start + (n - 1) * step + margin + off[W - 1];
    const pos = new Int32Array(hi - lo + 1).fill(-1);
    for (let p = 0; p < n; p++) for (let k = 0; k < W; k++) pos[start + p * step + margin + off[k] - lo] = 1;
    let m = 0;
    for (let x = 0; x < pos.length; x++) if (pos[x] >= 0) pos[x] = m++;
    const list = new Int32Array(m);
    for (let x = 0; x < pos.length; x++) if (pos[x] >= 0) list[pos[x]] = x + lo;
    const idx = new Int32Array(n * W);
    for (let p = 0; p < n; p++) for (let k = 0; k < W; k++) idx[p * W + k] = pos[start + p * step + margin + off[k] - lo];
    return { list, idx };
  };
  const cols = distinct(gw), rows = distinct(gh);
  const nc = cols.list.length;
  const colList = cols.list, colIdx = cols.idx, rowList = rows.list, rowIdx = rows.idx;
  // ring of horizontal-pass rows: enough for the rows one grid row of points spans
  let cap = 1;
  for (let p = 0; p < gh; p++) cap = Math.max(cap, rowIdx[p * W + W - 1] - rowIdx[p * W] + 1);
  const rowLen = gw * 16;
  const ring = new Float64Array(cap * rowLen);
  const rdx = new Float32Array(nc), rdy = new Float32Array(nc), radx = new Float32Array(nc), rady = new Float32Array(nc);
  const desc = work.desc;
  const rowBase = new Int32Array(W);
  let next = 0;
  for (let gy = 0; gy < gh; gy++) {
    const need = rowIdx[gy * W + W - 1];
    for (; next <= need; next++) {
      // Haar responses of side 2h at the distinct columns of row rowList[next] (as haarMaps computes them)
      const y = rowList[next];
      const a = (y - h) * stride, m = y * stride, b = (y + h) * stride;
      for (let c = 0; c < nc; c++) {
        const i = colList[c];
        const dL = ii[b + i - h] - ii[a + i - h];
        const dC = ii[b + i] - ii[a + i];
        const dR = ii[b + i + h] - ii[a + i + h];
        const eT = ii[a + i + h] - ii[a + i - h];
        const eC = ii[m + i + h] - ii[m + i - h];
        const eB = ii[b + i + h] - ii[b + i - h];
        const vx = (rdx[c] = dR - 2 * dC + dL);
        const vy = (rdy[c] = eB - 2 * eC + eT);
        radx[c] = vx < 0 ? -vx : vx;
        rady[c] = vy < 0 ? -vy : vy;
      }
      // horizontal pass: per grid column, 4 sub-region columns x 5 weighted samples
      const rb = (next % cap) * rowLen;
      for (let gx = 0; gx < gw; gx++) {
        const cb = gx * W;
        const ob = rb + gx * 16;
        for (let sc = 0, k = 0; sc < 4; sc++) {
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let t = 0; t < sub; t++, k++) {
            const ci = colIdx[cb + k];
            const w = g[k];
            s0 += rdx[ci] * w;
            s1 += radx[ci] * w;
            s2 += rdy[ci] * w;
            s3 += rady[ci] * w;
          }
          const o = ob + sc * 4;
          ring[o] = s0;
          ring[o + 1] = s1;
          ring[o + 2] = s2;
          ring[o + 3] = s3;
        }
      }
    }
    // vertical pass: per point, 4 sub-region rows x 5 weighted horizontal-pass rows
    for (let k = 0; k < W; k++) rowBase[k] = (rowIdx[gy * W + k] % cap) * rowLen;
    for (let gx = 0; gx < gw; gx++) {
      const xo = gx * 16;
      for (let sr = 0, k = 0; sr < 4; sr++) {
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        let a8 = 0, a9 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0, a14 = 0, a15 = 0;
        for (let t = 0; t < sub; t++, k++) {
          const w = g[k];
          const o = rowBase[k] + xo;
          a0 += ring[o] * w; a1 += ring[o + 1] * w; a2 += ring[o + 2] * w; a3 += ring[o + 3] * w;
          a4 += ring[o + 4] * w; a5 += ring[o + 5] * w; a6 += ring[o + 6] * w; a7 += ring[o + 7] * w;
          a8 += ring[o + 8] * w; a9 += ring[o + 9] * w; a10 += ring[o + 10] * w; a11 += ring[o + 11] * w;
          a12 += ring[o + 12] * w; a13 += ring[o + 13] * w; a14 += ring[o + 14] * w; a15 += ring[o + 15] * w;
        }
        const d = sr * 16;
        desc[d] = a0; desc[d + 1] = a1; desc[d + 2] = a2; desc[d + 3] = a3;
        desc[d + 4] = a4; desc[d + 5] = a5; desc[d + 6] = a6; desc[d + 7] = a7;
        desc[d + 8] = a8; desc[d + 9] = a9; desc[d + 10] = a10; desc[d + 11] = a11;
        desc[d + 12] = a12; desc[d + 13] = a13; desc[d + 14] = a14; desc[d + 15] = a15;
      }
      normalizeInto(desc, out, strength, (gy * gw + gx) * nS + si);
    }
  }
}

/** Unit L2 normalisation into `out` row `idx`, and strength = variance (normalised by N-1 like MATLAB var). */
function normalizeInto(desc: Float64Array, out: Float32Array, strength: Float32Array, idx: number): void {
  let n2 = 0, sum = 0;
  for (let d = 0; d < SURF_DIM; d++) {
    const v = desc[d];
    n2 += v * v;
    sum += v;
  }
  if (!(n2 > 0)) return;
  const inv = 1 / Math.sqrt(n2);
  const o = idx * SURF_DIM;
  const mean = (sum * inv) / SURF_DIM;
  let v2 = 0;
  for (let d = 0; d < SURF_DIM; d++) {
    const v = desc[d] * inv;
    out[o + d] = v;
    v2 += (v - mean) * (v - mean);
  }
  strength[idx] = v2 / (SURF_DIM - 1);
}

/**
 * Dense SURF-64 descriptors on the reference grid (see the module comment for every convention).
 * @param img grey image, values in [0, 1] (any affine intensity change leaves the descriptors unchanged)
 * @param opts grid step/start, SURF scales, oriented (default: MATLAB bagOfFeatures defaults, upright)
 * @returns descriptors ordered by (gy, gx, scaleIndex)
 */
export function denseSurf(img: GreyImage, opts: DenseGridOptions = {}): FeatureSet {
  const step = opts.step ?? DEFAULT_GRID_STEP;
  const start = opts.start ?? DEFAULT_GRID_START;
  const scales = opts.scales ?? DEFAULT_SURF_SCALES;
  const oriented = opts.oriented ?? false;
  if (!(step >= 1) || !(start >= 0)) throw new RangeError('grid step must be >= 1 and start >= 0');
  if (scales.length === 0 || scales.length > 255 || scales.some((s) => !(s > 0))) {
    throw new RangeError('scales must be 1..255 positive numbers');
  }
  if (img.data.length !== img.width * img.height) throw new RangeError('image data length != width*height');
  const gw = gridCount(img.width, start, step);
  const gh = gridCount(img.height, start, step);
  const nS = scales.length;
  const count = gw * gh * nS;
  const descriptors = new Float32Array(count * SURF_DIM);
  const xs = new Float32Array(count);
  const ys = new Float32Array(count);
  const scaleIndex = new Uint8Array(count);
  const strength = new Float32Array(count);
  const orientation = oriented ? new Float32Array(count) : undefined;
  for (let gy = 0, i = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      for (let si = 0; si < nS; si++, i++) {
        xs[i] = start + gx * step;
        ys[i] = start + gy * step;
        scaleIndex[i] = si;
      }
    }
  }
  const result: FeatureSet = {
    count, dim: SURF_DIM, descriptors, x: xs, y: ys, scaleIndex, strength, gridWidth: gw, gridHeight: gh,
    nScales: nS, step, start, scales: [...scales], ...(orientation ? { orientation } : {}),
  };
  if (count === 0) return result;

  // Margin: farthest corner any sample box can touch, plus one.
  let reach = 0;
  for (const s of scales) {
    const hD = Math.max(1, Math.round(s));
    const half = (WINDOW_SAMPLES / 2 - 0.5) * s;
    reach = Math.max(reach, (oriented ? half * Math.SQRT2 : half) + 1 + hD);
    if (oriented) reach = Math.max(reach, ORI_RADIUS * s + 1 + Math.max(1, Math.round(2 * s)));
  }
  const margin = Math.ceil(reach) + 1;
  const { ii, stride, wp, hp } = paddedIntegral(img, margin);

  // Haar maps, computed per distinct half-size h and released when no later scale needs them.
  const hDesc = scales.map((s) => Math.max(1, Math.round(s)));
  const hOri = scales.map((s) => Math.max(1, Math.round(2 * s)));
  const cache = new Map<number, HaarMaps>();
  // Lowest corner index any sample with box half-size h can use (margin minus the reach of the largest scale
  // using that h).
  const lowFor = (h: number): number => {
    let r = 0;
    scales.forEach((s, i) => {
      const half = (WINDOW_SAMPLES / 2 - 0.5) * s;
      if (hDesc[i] === h) r = Math.max(r, (oriented ? half * Math.SQRT2 : half) + 1);
      if (oriented && hOri[i] === h) r = Math.max(r, ORI_RADIUS * s + 1);
    });
    return Math.max(h, Math.floor(margin - r) - 1);
  };
  const getMaps = (h: number): HaarMaps => {
    let m = cache.get(h);
    if (!m) {
      m = haarMaps(ii, stride, wp, hp, h, lowFor(h));
      cache.set(h, m);
    }
    return m;
  };

  const desc = new Float64Array(SURF_DIM);
  if (!oriented) {
    const work: UprightWork = { desc };
    for (let si = 0; si < nS; si++) {
      uprightScale(ii, stride, hDesc[si], scales[si], gw, gh, start, step, margin, nS, si, descriptors, strength, work);
    }
    return result;
  }

  // Oriented: full Haar response maps per half-size h (rotated samples can land on any corner of the window).
  const nSamp = WINDOW_SAMPLES * WINDOW_SAMPLES;
  const sampW = new Float64Array(nSamp);
  const binX = new Float64Array(ORI_BINS);
  const binY = new Float64Array(ORI_BINS);
  const binScale = ORI_BINS / (2 * Math.PI);
  const axis = new Float64Array(WINDOW_SAMPLES);
  const rot = new Float64Array(2 * WINDOW_SAMPLES);
  for (let si = 0; si < nS; si++) {
    const s = scales[si];
    for (let a = 0; a < WINDOW_SAMPLES; a++) axis[a] = (a - (WINDOW_SAMPLES / 2 - 0.5)) * s;
    const { dx: mdx, dy: mdy } = getMaps(hDesc[si]);
    // Samples in sub-region-major order: sub-region (sx, sy), then 5x5 samples inside it.
    const sub = WINDOW_SAMPLES / 4;
    const sig2 = 2 * (DESC_SIGMA * s) * (DESC_SIGMA * s);
    for (let sy = 0, k = 0; sy < 4; sy++) {
      for (let sx = 0; sx < 4; sx++) {
        for (let ty = 0; ty < sub; ty++) {
          for (let tx = 0; tx < sub; tx++, k++) {
            const u = (sx * sub + tx - (WINDOW_SAMPLES / 2 - 0.5)) * s;
            const v = (sy * sub + ty - (WINDOW_SAMPLES / 2 - 0.5)) * s;
            sampW[k] = Math.exp(-(u * u + v * v) / sig2);
          }
        }
      }
    }
    let oriOff: Int32Array, oriW: Float64Array;
    {
      const offs: number[] = [];
      const ws: number[] = [];
      const os2 = 2 * (ORI_SIGMA * s) * (ORI_SIGMA * s);
      for (let j = -ORI_RADIUS; j < ORI_RADIUS; j++) {
        for (let i = -ORI_RADIUS; i < ORI_RADIUS; i++) {
          const u = (i + 0.5) * s;
          const v = (j + 0.5) * s;
          if (u * u + v * v >= ORI_RADIUS * ORI_RADIUS * s * s) continue;
          offs.push(cornerOffset(v) * stride + cornerOffset(u));
          ws.push(Math.exp(-(u * u + v * v) / os2));
        }
      }
      oriOff = Int32Array.from(offs);
      oriW = Float64Array.from(ws);
    }
    const oriMaps = getMaps(hOri[si]);

    for (let gy = 0; gy < gh; gy++) {
      const py = start + gy * step + margin;
      for (let gx = 0; gx < gw; gx++) {
        const px = start + gx * step + margin;
        const base = py * stride + px;
        const idx = (gy * gw + gx) * nS + si;
        const theta = dominantOrientation(oriMaps.dx, oriMaps.dy, base, oriOff, oriW, binX, binY, binScale);
        orientation![idx] = theta;
        describeRotated(mdx, mdy, base, stride, axis, sampW, Math.cos(theta), Math.sin(theta), desc, rot);
        normalizeInto(desc, descriptors, strength, idx);
      }
    }
    // Release maps no later scale uses.
    for (const h of [...cache.keys()]) {
      let needed = false;
      for (let sj = si + 1; sj < nS; sj++) if (hDesc[sj] === h || hOri[sj] === h) needed = true;
      if (!needed) cache.delete(h);
    }
  }
  return result;
}
