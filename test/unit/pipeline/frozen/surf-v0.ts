/**
 * FROZEN copy of src/pipeline/features/surf.ts as of commit 7b6ca5c (before the speed work of issue 3), kept only as the
 * reference the optimised implementation is compared against in surf-equivalence.test.ts. Do not optimise or edit.
 */
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
import type { GreyImage } from '../../../../src/pipeline/types.ts';

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
    for (let i = 0; i < wp; i++) {
      const sx = Math.min(w - 1, Math.max(0, i - margin));
      rowBuf[i] = data[src + sx];
    }
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

/** Upright descriptor (Bay et al. 2008 sec. 4.2): 16 sub-regions x 25 weighted samples -> 64 raw sums. */
function describeUpright(mdx: Float32Array, mdy: Float32Array, base: number, sampOff: Int32Array, sampW: Float64Array, desc: Float64Array): void {
  for (let r = 0, k = 0; r < 16; r++) {
    let sdx = 0, sadx = 0, sdy = 0, sady = 0;
    for (let t = 0; t < 25; t++, k++) {
      const o = base + sampOff[k];
      const w = sampW[k];
      const a = mdx[o] * w;
      const b = mdy[o] * w;
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
function describeRotated(mdx: Float32Array, mdy: Float32Array, base: number, stride: number, sampU: Float64Array,
  sampV: Float64Array, sampW: Float64Array, c: number, sn: number, desc: Float64Array): void {
  for (let r = 0, k = 0; r < 16; r++) {
    let sdx = 0, sadx = 0, sdy = 0, sady = 0;
    for (let t = 0; t < 25; t++, k++) {
      const u = sampU[k], v = sampV[k];
      const ox = c * u - sn * v;
      const oy = sn * u + c * v;
      const o = base + cornerOffset(oy) * stride + cornerOffset(ox);
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

/** Unit L2 normalisation into `out` row `idx`, and strength = variance (normalised by N-1 like MATLAB var). */
function normalizeInto(desc: Float64Array, out: Float32Array, strength: Float32Array, idx: number): void {
  let n2 = 0;
  for (let d = 0; d < SURF_DIM; d++) n2 += desc[d] * desc[d];
  if (!(n2 > 0)) return;
  const inv = 1 / Math.sqrt(n2);
  const o = idx * SURF_DIM;
  let sum = 0;
  for (let d = 0; d < SURF_DIM; d++) sum += desc[d] * inv;
  const mean = sum / SURF_DIM;
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
  const nSamp = WINDOW_SAMPLES * WINDOW_SAMPLES;
  const sampOff = new Int32Array(nSamp);
  const sampW = new Float64Array(nSamp);
  const sampU = new Float64Array(nSamp);
  const sampV = new Float64Array(nSamp);
  const binX = new Float64Array(ORI_BINS);
  const binY = new Float64Array(ORI_BINS);
  const binScale = ORI_BINS / (2 * Math.PI);

  for (let si = 0; si < nS; si++) {
    const s = scales[si];
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
            sampU[k] = u;
            sampV[k] = v;
            sampW[k] = Math.exp(-(u * u + v * v) / sig2);
            sampOff[k] = cornerOffset(v) * stride + cornerOffset(u);
          }
        }
      }
    }
    let oriOff: Int32Array | undefined;
    let oriW: Float64Array | undefined;
    let oriMaps: HaarMaps | undefined;
    if (oriented) {
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
      oriMaps = getMaps(hOri[si]);
    }

    for (let gy = 0; gy < gh; gy++) {
      const py = start + gy * step + margin;
      for (let gx = 0; gx < gw; gx++) {
        const px = start + gx * step + margin;
        const base = py * stride + px;
        const idx = (gy * gw + gx) * nS + si;
        if (!oriented) {
          describeUpright(mdx, mdy, base, sampOff, sampW, desc);
        } else {
          const theta = dominantOrientation(oriMaps!.dx, oriMaps!.dy, base, oriOff!, oriW!, binX, binY, binScale);
          orientation![idx] = theta;
          describeRotated(mdx, mdy, base, stride, sampU, sampV, sampW, Math.cos(theta), Math.sin(theta), desc);
        }
        normalizeInto(desc, descriptors, strength, idx);
      }
    }
    // Release maps no later scale uses.
    for (const h of [...cache.keys()]) {
      let needed = false;
      for (let sj = si + 1; sj < nS; sj++) if (hDesc[sj] === h || (oriented && hOri[sj] === h)) needed = true;
      if (!needed) cache.delete(h);
    }
  }
  return result;
}
