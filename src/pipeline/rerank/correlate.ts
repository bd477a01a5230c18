/**
 * Dense correlation re-ranking: the query's representation (CoMIR) is compared with each candidate's pixel by pixel,
 * at a coarse working scale, over a sweep of rotations and every translation: the masked normalised
 * cross-correlation (Padfield, "Masked object registration in the Fourier domain", IEEE TIP 2012), computed with FFTs.
 *
 * Why: CoMIR's purpose is that corresponding regions of two modalities look alike (paper sec. "CoMIR"), yet dense SURF
 * words of our CoMIRs rarely agree across modalities (bench/results/shg-bf-quick.md: near chance), while the images
 * themselves do correlate on aligned tissue (training/README.md: 0.59 on validation cores against 0.15 for mismatched
 * ones). Measured before this module existed (a numpy prototype of the same computation, 1/8 scale, 5-degree sweep,
 * 13 shg-bf test cores against all 31): whole images Acc@1 46 % BF->SHG and 69 % SHG->BF, raw pixels 0 %.
 *
 * The result of a match is its NCC peak (in [-1, 1]) and the rotation + translation that gives it, so it also says
 * where, and at which angle, the query lies in the candidate.
 */
import { correlatePair, nextPow2, realPairSpectra, type Spectrum } from './fft.ts';
import { type Affine, composeAffine, footprintOf, type Point, rotatedCanvas } from './geometry.ts';
import { gradientMagnitude } from './structure.ts';
import type { GreyImage, Region } from '../types.ts';
import { warpAffine } from './warp.ts';

/**
 * The query's longer side at the working scale (px). 64 px = 1/8 of a 512 px core: the prototype's scale (above),
 * where the whole-core structure the two CoMIRs share is kept and per-pixel disagreement averages out; it also keeps
 * every FFT at 128 x 128 for 512 px candidates.
 */
export const DEFAULT_WORKING_SIZE = 64;
/**
 * Candidates are seen at most this large (px, longer side) at the working scale, so every FFT stays <= 256 x 256
 * (a 30 % crop of a 512 px core is then searched at 1/4 scale, not 1/2: the prototype found crops at chance at both
 * scales with today's CoMIRs, and 1/2 needs 512 x 512 FFTs, ~10x the time).
 */
export const MAX_CANDIDATE_WORKING_SIZE = 128;
/** The benchmark protocol's rotations (+-30 degrees, ../shared/data/README.md) in the prototype's 5-degree steps. */
export const DEFAULT_CORRELATION_ANGLES: readonly number[] = Object.freeze([-30, -25, -20, -15, -10, -5, 0, 5, 10, 15, 20, 25, 30]);
/**
 * A translation counts only where at least this fraction of the query overlaps the candidate: the protocol's whole
 * queries are shifted by up to 12 % per axis and rotated, which leaves more than half inside; smaller overlaps give
 * high chance correlations on a few pixels.
 */
export const DEFAULT_MIN_OVERLAP = 0.5;
/**
 * Overlaps where the query's or the candidate's variance is below this fraction of the whole query's variance do not
 * count: flat regions (the background CoMIR is a constant 0.5, training/README.md) make the NCC 0/0.
 */
const MIN_RELATIVE_VARIANCE = 1e-3;
/**
 * A query view flatter than this (variance of values in [0, 1]; std 1e-4, about 7 levels of a 16-bit CoMIR) has no
 * structure to correlate.
 */
const MIN_VARIANCE = 1e-8;

/**
 * Coarse-to-fine (search.service.ts): a refinement correlates its candidates at this many times the working resolution
 * (DEFAULT_WORKING_SIZE and MAX_CANDIDATE_WORKING_SIZE both scaled), so every FFT grows 4x; it tries 9 of the views near
 * each candidate's coarse pose instead of the 39 of vis-nir's sweep, so a refined candidate costs about what a coarse
 * one did (docs/adr/0009: 20 refined of 160 added 16 % to the re-ranking time of NIR->RGB crops).
 */
export const REFINE_ZOOM = 2;
/** The most candidates a refinement correlates again: as many as a search re-ranks (search.service.ts SEARCH_LIMITS). */
export const MAX_REFINE = 200;

/** Rotation sweep step (degrees): the prototype's (above); the worst angle error is half of it. */
export const ANGLE_STEP = 5;
/**
 * Ratio between neighbouring scales of the scale sweep: the worst scale error is ~4 %, which at the 64 px working size
 * moves the query's edge by ~1.3 px from its centre. vis-nir's real warps span scales 0.90..1.10 (the 160 test
 * affines of ../shared/data/vis-nir); docs/adr/0005 has the measurement.
 */
export const SCALE_STEP = 1.08;

/**
 * Valid ranges of the pose bounds (search input, CoMIR manifest `search`, `cmir train --scale-tolerance`): any rotation
 * up to a half turn either way; scales within +-50 % (beyond that, resample to a common pixel size first: ADR 0005).
 */
export const POSE_BOUNDS = { maxRotation: 180, scaleTolerance: 0.5 } as const;

/**
 * The poses a search tries: rotations within +-maxRotation degrees in ANGLE_STEP steps (0 included; a refinement
 * passes half steps), and scales SCALE_STEP^k that cover 1 +- scaleTolerance within SCALE_STEP's half step.
 */
export function correlationPoses(maxRotation: number, scaleTolerance: number, angleStep = ANGLE_STEP): { angles: number[]; scales: number[] } {
  const na = Math.ceil(maxRotation / angleStep - 1e-9);
  const angles = Array.from({ length: 2 * na + 1 }, (_, i) => Math.max(-maxRotation, Math.min(maxRotation, (i - na) * angleStep)));
  const ns = Math.max(0, Math.ceil(Math.log(1 + scaleTolerance) / Math.log(SCALE_STEP) - 0.5 - 1e-9));
  const scales = Array.from({ length: 2 * ns + 1 }, (_, i) => SCALE_STEP ** (i - ns));
  return { angles, scales };
}

/**
 * The options of a refinement of a correlation made with `opts` (search.service.ts): REFINE_ZOOM times the working
 * resolution, and the same rotations in half steps (a refined candidate tries only those near its pose:
 * JointCandidate.near). Null when the query would not be seen any finer (its working scale is already full size).
 */
export function refinementOptions(query: { width: number; height: number }, opts: CorrelateOptions): CorrelateOptions | null {
  const workingSize = (opts.workingSize ?? DEFAULT_WORKING_SIZE) * REFINE_ZOOM;
  const maxCandidateSize = (opts.maxCandidateSize ?? MAX_CANDIDATE_WORKING_SIZE) * REFINE_ZOOM;
  const factor = (o: CorrelateOptions) => correlationFactor(query, o.workingSize, o.largestCandidate, o.maxCandidateSize);
  const fine = { ...opts, workingSize, maxCandidateSize };
  if (factor(fine) >= factor(opts)) return null;
  const maxRotation = Math.max(...(opts.angles ?? DEFAULT_CORRELATION_ANGLES).map(Math.abs));
  const angles = correlationPoses(maxRotation, 0, ANGLE_STEP / 2).angles;
  return { ...fine, angles };
}

export interface CorrelateOptions {
  angles?: readonly number[];
  /** Query scales tried with every angle (default [1]): a view is the query rotated, then scaled by this factor. */
  scales?: readonly number[];
  workingSize?: number;
  minOverlap?: number;
  /** Longer side (px) of the largest candidate, to bound the working scale (MAX_CANDIDATE_WORKING_SIZE). */
  largestCandidate?: number;
  /** Longer side (px) the largest candidate may have at the working scale (default MAX_CANDIDATE_WORKING_SIZE). */
  maxCandidateSize?: number;
  /**
   * What is correlated: the pixel values (default) or their gradient magnitude at the working scale (structure.ts).
   * Candidates must be given in the same signal: workingImage(image, factor, signal).
   */
  signal?: CorrelationSignal;
}

/** 'value': the image as is; 'gradient': its Sobel gradient magnitude at the working scale (structure.ts). */
export type CorrelationSignal = 'value' | 'gradient';

/** One rotated (and scaled) view of the downsampled query, with its validity mask, ready to correlate. */
export interface CorrelationView {
  readonly angle: number;
  readonly scale: number;
  /** Working-scale query pixel -> view pixel. */
  readonly toView: Affine;
  readonly width: number;
  readonly height: number;
  /** mask * value, mask (1 inside the rotated query where it has data, 0 on the blank canvas corners and no data). */
  readonly masked: Float64Array;
  readonly mask: Float64Array;
  /**
   * Summed-area tables ((width+1) x (height+1)) of mask, mask*value and mask*value^2: the overlap statistics of the
   * query side are rectangle sums, so only the three sums that involve the candidate need FFTs.
   */
  readonly sumM: Float64Array;
  readonly sumT: Float64Array;
  readonly sumT2: Float64Array;
  readonly area: number;
  readonly variance: number;
}

/** A prepared query: its views and the working scale (downsampling factor). */
export interface CorrelationQuery {
  readonly factor: number;
  readonly width: number;
  readonly height: number;
  readonly views: readonly CorrelationView[];
  readonly minOverlap: number;
  /** Spectra of the views (mask, mask*value), per padded size "WxH" (one per candidate size), as views need them. */
  readonly spectra: Map<string, { mm: Spectrum; mt: Spectrum }[]>;
  /** Spectra of the views' mask * value^2, per padded size (only for candidates with no data), as views need them. */
  readonly squareSpectra: Map<string, Spectrum[]>;
}

export interface CorrelationCandidate<Id> {
  readonly entryId: Id;
  /** The candidate at the query's working scale and signal (workingImage(image, query.factor, signal)); NaN = no data. */
  readonly image: GreyImage;
  /** Its size at full resolution. */
  readonly width: number;
  readonly height: number;
}

export interface CorrelatedMatch<Id> {
  readonly entryId: Id;
  /** Peak masked NCC over rotations and translations, in [-1, 1]. */
  readonly score: number;
  /** Query pixel -> candidate pixel (full resolution). */
  readonly transform: Affine;
  readonly angle: number;
  /** The view's scale: the query appears this much larger in the candidate. */
  readonly scale: number;
  readonly footprint: Point[];
  readonly region: Region;
}

/**
 * The downsampling factor for a query: its longer side becomes about `workingSize` px (never upsampled), and the
 * largest candidate at most MAX_CANDIDATE_WORKING_SIZE.
 */
export function correlationFactor(
  query: { width: number; height: number },
  workingSize = DEFAULT_WORKING_SIZE,
  largestCandidate = 0,
  maxCandidateSize = MAX_CANDIDATE_WORKING_SIZE,
): number {
  return Math.max(1, Math.round(Math.max(query.width, query.height) / workingSize), Math.ceil(largestCandidate / maxCandidateSize));
}

/**
 * Box-filter downsampling by an integer factor (mean of each f x f block; a partial last block is dropped). A block
 * with a NaN (no-data) pixel is NaN.
 */
export function downsample(img: GreyImage, f: number): GreyImage {
  if (f === 1) return img;
  const w = Math.max(1, Math.floor(img.width / f)), h = Math.max(1, Math.floor(img.height / f));
  const out = new Float32Array(w * h);
  const fx = Math.min(f, img.width), fy = Math.min(f, img.height);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = 0; dy < fy; dy++) {
        const row = (y * f + dy) * img.width + x * f;
        for (let dx = 0; dx < fx; dx++) s += img.data[row + dx];
      }
      out[y * w + x] = s / (fx * fy);
    }
  }
  return { width: w, height: h, data: out };
}

/** An image as correlation sees it: box-downsampled by `factor`, then turned into `signal`. */
export function workingImage(img: GreyImage, factor: number, signal: CorrelationSignal = 'value'): GreyImage {
  const reduced = downsample(img, factor);
  return signal === 'gradient' ? gradientMagnitude(reduced) : reduced;
}

/**
 * Downsamples the query and renders its rotated (and scaled) views (each on a canvas that holds it, as verify.ts does).
 * NaN pixels are no data (pipeline/nodata.ts markNoData): they are left out of every correlation, as the canvas corners
 * are; a working pixel counts only where its whole block is data (the block mean of downsample() is NaN otherwise).
 */
export function prepareCorrelation(query: GreyImage, opts: CorrelateOptions = {}): CorrelationQuery {
  const factor = correlationFactor(query, opts.workingSize, opts.largestCandidate, opts.maxCandidateSize);
  const q = workingImage(query, factor, opts.signal);
  const w = q.width, h = q.height;
  const both = new Float32Array(w * h * 2);
  for (let i = 0; i < w * h; i++) {
    const inside = Number.isNaN(q.data[i]) ? 0 : 1;
    both[2 * i] = inside ? q.data[i] : 0;
    both[2 * i + 1] = inside;
  }
  const poses = (opts.scales ?? [1]).flatMap((scale) => (opts.angles ?? DEFAULT_CORRELATION_ANGLES).map((angle) => ({ angle, scale })));
  const views = poses.map(({ angle, scale }): CorrelationView => {
    const { width: W, height: H, toView } = rotatedCanvas(w, h, angle, scale);
    const r = warpAffine({ width: w, height: h, channels: 2, data: both }, toView, W, H).data;
    const masked = new Float64Array(W * H), mask = new Float64Array(W * H);
    const sumM = new Float64Array((W + 1) * (H + 1)), sumT = new Float64Array((W + 1) * (H + 1)), sumT2 = new Float64Array((W + 1) * (H + 1));
    for (let y = 0; y < H; y++) {
      let rm = 0, rt = 0, rt2 = 0;
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        // inside = fully interpolated from query pixels with data (bilinear weight of the validity channel ~ 1)
        if (r[2 * i + 1] >= 0.999) {
          const v = r[2 * i] / r[2 * i + 1];
          mask[i] = 1;
          masked[i] = v;
          rm += 1;
          rt += v;
          rt2 += v * v;
        }
        const o = (y + 1) * (W + 1) + x + 1, up = o - (W + 1);
        sumM[o] = sumM[up] + rm;
        sumT[o] = sumT[up] + rt;
        sumT2[o] = sumT2[up] + rt2;
      }
    }
    const last = sumM.length - 1;
    const area = sumM[last];
    const variance = area > 0 ? sumT2[last] / area - (sumT[last] / area) ** 2 : 0;
    return { angle, scale, toView, width: W, height: H, masked, mask, sumM, sumT, sumT2, area, variance };
  });
  return { factor, width: query.width, height: query.height, views, minOverlap: opts.minOverlap ?? DEFAULT_MIN_OVERLAP, spectra: new Map(), squareSpectra: new Map() };
}

/** View j's spectra (mask, mask*value) at a padded size: computed on first use, kept with the query. */
function viewSpectrum(q: CorrelationQuery, j: number, PW: number, PH: number): { mm: Spectrum; mt: Spectrum } {
  const key = `${PW}x${PH}`;
  let s = q.spectra.get(key);
  if (!s) q.spectra.set(key, (s = new Array(q.views.length)));
  if (!s[j]) {
    const v = q.views[j];
    const [mm, mt] = realPairSpectra(v.mask, v.masked, v.width, v.height, PW, PH);
    s[j] = { mm, mt };
  }
  return s[j];
}

/**
 * View j's spectrum of mask * value^2 at a padded size: needed only for candidates with no-data pixels, where the
 * query-side overlap sums are correlations too.
 */
function viewSquareSpectrum(q: CorrelationQuery, j: number, PW: number, PH: number): Spectrum {
  const key = `${PW}x${PH}`;
  let s = q.squareSpectra.get(key);
  if (!s) q.squareSpectra.set(key, (s = new Array(q.views.length)));
  if (!s[j]) {
    const v = q.views[j];
    s[j] = realPairSpectra(v.masked.map((x) => x * x), null, v.width, v.height, PW, PH)[0];
  }
  return s[j];
}

/**
 * Correlates one candidate with every view; its best (view, translation). Where the candidate has no data (NaN), the
 * overlap statistics of both sides are correlations with the candidate's mask (Padfield 2012's full form: six
 * correlations per view instead of three), so the candidate's fill counts neither as overlap nor as content.
 */
export function correlateCandidate<Id>(q: CorrelationQuery, c: CorrelationCandidate<Id>): CorrelatedMatch<Id> {
  return correlateJoint([{ query: q, weight: 1 }], { entryId: c.entryId, images: [c.image], width: c.width, height: c.height });
}

/** The query in one signal of a joint correlation, and that signal's weight in the score (correlateJoint). */
export interface QuerySignal {
  /** The query before the signal is taken (the CoMIR, or the grey pixels for 'gradient'); NaN = no data. */
  readonly image: GreyImage;
  readonly signal: CorrelationSignal;
  readonly weight: number;
}

/** Prepares a query in each of its signals, with one set of options (so one working scale and one set of poses). */
export function prepareSignals(signals: readonly QuerySignal[], opts: CorrelateOptions = {}): WeightedQuery[] {
  return signals.map((s) => ({ query: prepareCorrelation(s.image, { ...opts, signal: s.signal }), weight: s.weight }));
}

/** One signal of a joint correlation (correlateJoint) and its weight in the score. */
export interface WeightedQuery {
  readonly query: CorrelationQuery;
  readonly weight: number;
}

/** A candidate in every signal of a joint correlation, in the order of its queries. */
export interface JointCandidate<Id> {
  readonly entryId: Id;
  /** Per signal: the candidate at the query's working scale in that signal (workingImage); NaN = no data. */
  readonly images: readonly GreyImage[];
  readonly width: number;
  readonly height: number;
  /**
   * Try only the views near this pose (within NEAR_ANGLE degrees and one SCALE_STEP): a refinement of a pose found at
   * a coarser scale (search.service.ts). Unset: every view.
   */
  readonly near?: { readonly angle: number; readonly scale: number };
  /**
   * The images are a part of the candidate (localPart) whose top-left corner lies at this full-resolution pixel (a
   * multiple of the working factor); width and height stay the whole candidate's. Unset: the whole candidate.
   */
  readonly offset?: { readonly x: number; readonly y: number };
}

/** How far from a `near` pose's angle views are tried (degrees): the coarse sweep's half step and a little more. */
export const NEAR_ANGLE = ANGLE_STEP / 2 + 1e-6;

/** The views within NEAR_ANGLE and one SCALE_STEP of a pose (never none: the nearest view if nothing is that near). */
function nearViews(views: readonly CorrelationView[], near: { angle: number; scale: number }): number[] {
  const dist = (v: CorrelationView) => [Math.abs(v.angle - near.angle), Math.abs(Math.log(v.scale / near.scale)) / Math.log(SCALE_STEP)];
  const within = views.flatMap((v, j) => {
    const [da, ds] = dist(v);
    return da <= NEAR_ANGLE && ds <= 1 + 1e-6 ? [j] : [];
  });
  if (within.length > 0) return within;
  let best = 0;
  views.forEach((v, j) => {
    const [da, ds] = dist(v), [ba, bs] = dist(views[best]);
    if (da / ANGLE_STEP + ds < ba / ANGLE_STEP + bs) best = j;
  });
  return [best];
}

/**
 * Correlates one candidate in several signals at once (the CoMIR and the images' structure: docs/adr/0008): at every
 * pose and translation the score is the weighted sum of the signals' NCCs, and the best pose is the one where that sum
 * peaks. So the signals must agree on one place: two unrelated images peak in each signal somewhere else, and the sum
 * of their separate peaks would overrate them (docs/adr/0008 has the measurement). A signal that has nothing to compare
 * at a translation (too flat, or too small an overlap) counts as -1 there, its floor; a translation where no signal
 * has anything does not count.
 *
 * The queries must be prepared from one query with the same options but the signal (one working scale, one set of
 * poses). With one signal of weight 1 this is correlateCandidate.
 */
export function correlateJoint<Id>(signals: readonly WeightedQuery[], c: JointCandidate<Id>): CorrelatedMatch<Id> {
  const q0 = signals[0].query;
  if (signals.some((s) => s.query.factor !== q0.factor || s.query.views.length !== q0.views.length) || c.images.length !== signals.length) {
    throw new Error('correlateJoint: the signals must share the working scale and poses, and the candidate must come in every signal');
  }
  const { width: cw, height: ch } = c.images[0];
  // Offsets are searched only where the view overlaps the candidate by >= minOverlap of the smaller extent along each
  // axis (an area overlap of minOverlap needs at least that): u in [a - vw, cw - a]. The cyclic correlation is then
  // free of wrap-around for a padded size of cw + vw - a, not cw + vw - 1 (a 512 px core at 1/8: 128, not 256).
  const ax = (vw: number) => Math.ceil(q0.minOverlap * Math.min(vw, cw)), ay = (vh: number) => Math.ceil(q0.minOverlap * Math.min(vh, ch));
  const PW = nextPow2(Math.max(...q0.views.map((v) => cw + v.width - ax(v.width))));
  const PH = nextPow2(Math.max(...q0.views.map((v) => ch + v.height - ay(v.height))));
  const prepared = signals.map(({ query, weight }, s) => ({ query, weight, ...candidateSpectra(c.images[s], PW, PH) }));
  /** Per view: the weighted sum of the signals' NCCs over its offset grid, and how many signals had one. */
  const grid = (v: CorrelationView) => ({ gw: cw - 2 * ax(v.width) + v.width + 1, gh: ch - 2 * ay(v.height) + v.height + 1 });
  let best = { r: -Infinity, ux: 0, uy: 0, view: q0.views[0] };
  // Three inverse FFTs per two views and signal: (sI, sI2) of each, and their two sTI together (fft.ts correlatePair);
  // with candidate gaps, three per view.
  const order = c.near ? nearViews(q0.views, c.near) : q0.views.map((_, j) => j);
  for (let k = 0; k < order.length; k += 2) {
    const pair = order.slice(k, k + 2);
    const sums = pair.map((j) => {
      const { gw, gh } = grid(q0.views[j]);
      return { sum: new Float64Array(gw * gh), count: new Uint8Array(gw * gh), gw };
    });
    for (const p of prepared) {
      const { query: q, fI, fI2, fM } = p;
      const spectrum = (j: number) => viewSpectrum(q, j, PW, PH);
      const [sTIa, sTIb] = fM ? [null, null] : correlatePair(spectrum(pair[0]).mt, fI, spectrum(pair[pair.length - 1]).mt, fI);
      pair.forEach((j, t) => {
        const v = q.views[j];
        const { sum, count, gw } = sums[t];
        // a flat view: this signal is at its floor everywhere
        if (v.area === 0 || v.variance < MIN_VARIANCE) return void sum.forEach((_, i) => (sum[i] -= p.weight));
        let sI: Float64Array, sI2: Float64Array, sTI: Float64Array;
        // with candidate gaps: the overlap count and the query-side sums per offset
        let full: { nn: Float64Array; sT: Float64Array; sT2: Float64Array } | null = null;
        const { mm, mt } = spectrum(j);
        if (fM) {
          const [nn, sT] = correlatePair(mm, fM, mt, fM);
          const [sT2, sIm] = correlatePair(viewSquareSpectrum(q, j, PW, PH), fM, mm, fI);
          [sI2, sTI] = correlatePair(mm, fI2, mt, fI);
          sI = sIm;
          full = { nn, sT, sT2 };
        } else {
          [sI, sI2] = correlatePair(mm, fI, mm, fI2);
          sTI = (t === 0 ? sTIa : sTIb)!;
        }
        const minN = q.minOverlap * v.area;
        const eps = MIN_RELATIVE_VARIANCE * v.variance;
        const W1 = v.width + 1;
        const aX = ax(v.width), aY = ay(v.height);
        for (let uy = aY - v.height; uy <= ch - aY; uy++) {
          const row = ((uy + PH) % PH) * PW;
          const g0 = (uy - aY + v.height) * gw - aX + v.width;
          // the view rows y with 0 <= y + uy < ch
          const y0 = Math.max(0, -uy), y1 = Math.min(v.height, ch - uy);
          for (let ux = aX - v.width; ux <= cw - aX; ux++) {
            const i = row + ((ux + PW) % PW);
            const g = g0 + ux;
            let nn: number, sT: number, sT2: number;
            if (full) {
              nn = full.nn[i];
              sT = full.sT[i];
              sT2 = full.sT2[i];
            } else {
              const x0 = Math.max(0, -ux), x1 = Math.min(v.width, cw - ux);
              const a = y0 * W1 + x0, b = y0 * W1 + x1, c = y1 * W1 + x0, d = y1 * W1 + x1;
              nn = v.sumM[d] - v.sumM[b] - v.sumM[c] + v.sumM[a];
              if (nn < minN) {
                sum[g] -= p.weight;
                continue;
              }
              sT = v.sumT[d] - v.sumT[b] - v.sumT[c] + v.sumT[a];
              sT2 = v.sumT2[d] - v.sumT2[b] - v.sumT2[c] + v.sumT2[a];
            }
            const vT = sT2 - (sT * sT) / nn;
            const vI = sI2[i] - (sI[i] * sI[i]) / nn;
            if (nn < minN || vT <= eps * nn || vI <= eps * nn) {
              sum[g] -= p.weight;
              continue;
            }
            sum[g] += (p.weight * (sTI[i] - (sT * sI[i]) / nn)) / Math.sqrt(vT * vI);
            count[g]++;
          }
        }
      });
    }
    pair.forEach((j, t) => {
      const v = q0.views[j];
      const { sum, count, gw } = sums[t];
      const aX = ax(v.width), aY = ay(v.height);
      for (let g = 0; g < sum.length; g++) {
        if (count[g] > 0 && sum[g] > best.r) best = { r: sum[g], ux: (g % gw) + aX - v.width, uy: Math.floor(g / gw) + aY - v.height, view: v };
      }
    });
  }
  const f = q0.factor;
  // full-res query -> working query -> view -> working candidate (translation) -> full-res candidate
  const toWork: Affine = [1 / f, 0, 0.5 / f - 0.5, 0, 1 / f, 0.5 / f - 0.5];
  const fromWork: Affine = [f, 0, 0.5 * f - 0.5, 0, f, 0.5 * f - 0.5];
  const shift: Affine = [1, 0, best.ux, 0, 1, best.uy];
  const part: Affine = [1, 0, c.offset?.x ?? 0, 0, 1, c.offset?.y ?? 0];
  const transform = composeAffine(part, composeAffine(fromWork, composeAffine(shift, composeAffine(best.view.toView, toWork))));
  const { footprint, region } = footprintOf(transform, q0.width, q0.height, c);
  return {
    entryId: c.entryId,
    score: Number.isFinite(best.r) ? best.r : -1,
    transform,
    angle: best.view.angle,
    scale: best.view.scale,
    footprint,
    region,
  };
}

/** A candidate's spectra for one signal: value, value^2 and, with gaps, its mask. */
function candidateSpectra(image: GreyImage, PW: number, PH: number) {
  const { width: cw, height: ch, data } = image;
  const gaps = data.some(Number.isNaN);
  // no data counts as 0 in the value sums and 0 in the candidate's mask
  const values = gaps ? data.map((v) => (Number.isNaN(v) ? 0 : v)) : data;
  const sq = new Float64Array(cw * ch);
  for (let i = 0; i < sq.length; i++) sq[i] = values[i] * values[i];
  const [fI, fI2] = realPairSpectra(values, sq, cw, ch, PW, PH);
  const fM = gaps ? realPairSpectra(data.map((v) => (Number.isNaN(v) ? 0 : 1)), null, cw, ch, PW, PH)[0] : null;
  return { fI, fI2, fM };
}

/**
 * Candidates whose longer side exceeds this many times the median candidate's are correlated only around where the
 * first stage placed the query (localPart), and do not set the working scale: one 10000 px slide among 512 px cores
 * otherwise forced every candidate down to 1/79 (correlationFactor's largestCandidate), which took SHG->BF searches
 * that had the right core first (score 0.53) to third or out of the top 5 (issue 17). 2: images of one collection
 * differ by less (vis-nir photographs are all 1024 px wide; the scale benchmark's distractors are 25-100 % crops).
 */
export const LOCAL_RATIO = 2;

/** The longest side (px) of a candidate correlated whole: LOCAL_RATIO x the median candidate's longer side. */
export function wholeLimit(longerSides: readonly number[]): number {
  if (longerSides.length === 0) return 0;
  const s = [...longerSides].sort((a, b) => a - b);
  return LOCAL_RATIO * s[Math.floor((s.length - 1) / 2)];
}

/**
 * The part of a large candidate correlated at one working factor: the most the working scale allows
 * (`maxCandidateSize` working px per side), centred on `centre` (full-resolution px: the first stage's window, or a
 * coarse match) and kept inside the candidate. In working px of workingImage(candidate, factor); the part's
 * full-resolution offset is its corner times the factor.
 */
export function localPart(candidate: { width: number; height: number }, centre: Point, factor: number, maxCandidateSize = MAX_CANDIDATE_WORKING_SIZE): Region {
  const W = Math.max(1, Math.floor(candidate.width / factor)), H = Math.max(1, Math.floor(candidate.height / factor));
  const width = Math.min(W, maxCandidateSize), height = Math.min(H, maxCandidateSize);
  const x = Math.max(0, Math.min(W - width, Math.round(centre[0] / factor - width / 2)));
  const y = Math.max(0, Math.min(H - height, Math.round(centre[1] / factor - height / 2)));
  return { x, y, width, height };
}

/** A rectangle of an image (inside it). */
export function cropGrey(img: GreyImage, r: Region): GreyImage {
  const data = new Float32Array(r.width * r.height);
  for (let y = 0; y < r.height; y++) data.set(img.data.subarray((r.y + y) * img.width + r.x, (r.y + y) * img.width + r.x + r.width), y * r.width);
  return { width: r.width, height: r.height, data };
}

/** Correlates every candidate with the query (NaN = no data in either); best first. */
export function correlate<Id>(query: GreyImage, candidates: readonly { entryId: Id; image: GreyImage }[], opts: CorrelateOptions = {}): CorrelatedMatch<Id>[] {
  const q = prepareCorrelation(query, { largestCandidate: Math.max(...candidates.map((c) => Math.max(c.image.width, c.image.height))), ...opts });
  return candidates
    .map((c) => correlateCandidate(q, { entryId: c.entryId, image: workingImage(c.image, q.factor, opts.signal), width: c.image.width, height: c.image.height }))
    .sort((a, b) => b.score - a.score);
}
