/**
 * Spatial verification of candidates from their stored word maps (issue 5: "geometric consistency of matched
 * words"): the query is seen at a few rotations (a sweep, since upright SURF tolerates only about +-15 degrees, Bay et
 * al. 2008 sec. 4.1), and every query descriptor votes, for each occurrence of its word (same scale) in the
 * candidate, for the translation that would align them (a Hough transform over (angle, dx, dy)). A true match piles
 * its votes into one bin; a false one spreads them. The winning bin is the query -> candidate transform, so the
 * match also says where, and at which rotation, the query lies.
 *
 * Measured on 8 real SHG cores (tmp diagnostics, 2,000 words): whole images rotated 25-30 degrees and shifted, and
 * 30 % crops rotated -28 degrees, all ranked first (8/8), against 1-3 of 8 for tf-idf cosine (see
 * bench/results/within-shg-*.md for the repository-size run).
 */
import type { WordMap } from '../index/bow.ts';
import { type Affine, applyAffine, footprintOf, invertAffine, type Point, rotatedCanvas } from './geometry.ts';
import { type DenseGridOptions, denseSurf } from '../features/surf.ts';
import type { GreyImage, Region } from '../types.ts';
import { warpAffine } from './warp.ts';

/** The default sweep: +-30 degrees (the benchmark protocol's range, ../shared/data/README.md) in 10-degree steps. */
export const DEFAULT_SWEEP: readonly number[] = Object.freeze([-30, -20, -10, 0, 10, 20, 30]);
/**
 * After the sweep, the best candidates are verified again at +-REFINE_STEP around their best angle: measured on 8 SHG
 * cores, 30 % crops ranked first 6/8 with 10-degree steps and 7/8 with 5-degree steps, at twice the cost; refining
 * only the leaders gets the finer step for a few extra views.
 */
export const REFINE_STEP = 5;
/** How many leading candidates the refinement re-verifies. */
export const REFINE_TOP = 5;
/**
 * Words with more occurrences than this in a candidate do not vote: they are background or texture words that
 * match everywhere (measured: 40 keeps > 95 % of SHG query descriptors voting while the flat-background word, with
 * thousands of occurrences, is out).
 */
export const DEFAULT_MAX_OCCURRENCES = 40;

/** One rotated view of the query: its words and positions in the rotated frame, and the rotation used. */
export interface QueryView {
  readonly angle: number;
  /** Query pixel -> rotated-view pixel. */
  readonly toView: Affine;
  readonly words: Uint16Array | Uint32Array;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly scaleIndex: Uint8Array;
  readonly count: number;
}

export interface VerifyOptions {
  angles?: readonly number[];
  grid?: DenseGridOptions;
  maxOccurrences?: number;
}

export interface VerifyCandidate<Id> {
  readonly entryId: Id;
  readonly width: number;
  readonly height: number;
  readonly wordMap: WordMap;
}

export interface VerifiedMatch<Id> {
  readonly entryId: Id;
  /**
   * Significance of the best (angle, translation) bin: (votes - mean) / standard deviation over the candidate's
   * accumulator. Raw votes favour busy candidates that collect many chance votes; measured on 8 SHG cores, 30 % crops
   * ranked first 6/8 by raw votes and 7/8 by this z-score (bench:within, 2,000 words, 5-degree sweep: 87.5 %).
   */
  readonly score: number;
  /** Descriptors that voted for the winning bin. */
  readonly nWords: number;
  /** Query pixel -> candidate pixel (rotation + translation). */
  readonly transform: Affine;
  /** Rotation part of `transform` (query frame -> candidate frame), degrees, clockwise in image coordinates (y down). */
  readonly angle: number;
  /** The query's footprint in the candidate. */
  readonly footprint: Point[];
  /** Its bounding box, clipped to the candidate. */
  readonly region: Region;
}

/**
 * Computes the rotated views of a query: each view is the query rotated about its centre on a canvas large enough to
 * hold it; descriptors whose support window (20 s, Bay et al.) reaches outside the query's own pixels are dropped, so
 * the blank canvas corners vote for nothing.
 */
export function queryViews(
  query: GreyImage,
  quantize: (descriptors: Float32Array) => Uint16Array | Uint32Array,
  opts: VerifyOptions = {},
): QueryView[] {
  const angles = opts.angles ?? DEFAULT_SWEEP;
  const w = query.width, h = query.height;
  return angles.map((angle) => {
    const { width: W, height: H, toView } = rotatedCanvas(w, h, angle);
    const view =
      angle === 0
        ? query
        : (() => {
            const r = warpAffine({ width: w, height: h, channels: 1, data: query.data }, toView, W, H);
            return { width: W, height: H, data: r.data };
          })();
    const f = denseSurf(view, opts.grid);
    const words = quantize(f.descriptors);
    const back = invertAffine(toView);
    const keep: number[] = [];
    for (let i = 0; i < f.count; i++) {
      if (angle !== 0) {
        const half = 10 * f.scales[f.scaleIndex[i]];
        let inside = true;
        for (const [dx, dy] of [[-half, -half], [half, -half], [half, half], [-half, half]] as const) {
          const [sx, sy] = applyAffine(back, [f.x[i] + dx, f.y[i] + dy]);
          if (sx < 0 || sy < 0 || sx > w - 1 || sy > h - 1) {
            inside = false;
            break;
          }
        }
        if (!inside) continue;
      }
      keep.push(i);
    }
    const n = keep.length;
    const out = {
      angle,
      toView,
      words: words instanceof Uint16Array ? new Uint16Array(n) : new Uint32Array(n),
      x: new Float32Array(n),
      y: new Float32Array(n),
      scaleIndex: new Uint8Array(n),
      count: n,
    };
    keep.forEach((i, j) => {
      out.words[j] = words[i];
      out.x[j] = f.x[i];
      out.y[j] = f.y[i];
      out.scaleIndex[j] = f.scaleIndex[i];
    });
    return out;
  });
}

function max(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}

/** Occurrences of every word in a word map, grouped by word (counting sort): offsets[w]..offsets[w+1] in `cells`. */
function postings(map: WordMap, vocabSize: number): { offsets: Uint32Array; cells: Uint32Array } {
  const offsets = new Uint32Array(vocabSize + 1);
  for (let i = 0; i < map.words.length; i++) offsets[map.words[i] + 1]++;
  for (let w = 0; w < vocabSize; w++) offsets[w + 1] += offsets[w];
  const fill = offsets.slice(0, vocabSize);
  const cells = new Uint32Array(map.words.length);
  for (let i = 0; i < map.words.length; i++) cells[fill[map.words[i]]++] = i;
  return { offsets, cells };
}

/**
 * Verifies candidates against the query views and returns them by score, best first. Votes are binned at the grid
 * step (the finest translation the dense grid can resolve) and each vote is weighted by 1/occurrences of its word in
 * the candidate (a rare word is stronger evidence, as idf weighting does for whole images).
 */
export function verifyCandidates<Id>(
  views: readonly QueryView[],
  candidates: readonly VerifyCandidate<Id>[],
  vocabSize: number,
  query: { width: number; height: number },
  opts: VerifyOptions = {},
): VerifiedMatch<Id>[] {
  const maxOcc = opts.maxOccurrences ?? DEFAULT_MAX_OCCURRENCES;
  const out: VerifiedMatch<Id>[] = [];
  for (const c of candidates) {
    const map = c.wordMap;
    const step = map.step;
    const { offsets, cells } = postings(map, vocabSize);
    let best = { votes: 0, z: 0, n: 0, dx: 0, dy: 0, view: views[0] };
    for (const v of views) {
      // Offsets (candidate - view) in grid steps span [-(view size), candidate size]; a dense accumulator.
      const minX = Math.floor(-max(v.x) / step) - 1;
      const minY = Math.floor(-max(v.y) / step) - 1;
      const bw = Math.ceil(c.width / step) - minX + 2;
      const bh = Math.ceil(c.height / step) - minY + 2;
      const acc = new Float32Array(bw * bh);
      const cnt = new Uint32Array(bw * bh);
      for (let k = 0; k < v.count; k++) {
        const w = v.words[k];
        const a = offsets[w], b = offsets[w + 1];
        if (b === a || b - a > maxOcc) continue;
        const weight = 1 / (b - a);
        for (let p = a; p < b; p++) {
          const cell = cells[p];
          if (cell % map.nScales !== v.scaleIndex[k]) continue;
          const g = (cell / map.nScales) | 0;
          const cx = map.start + (g % map.gridWidth) * step;
          const cy = map.start + ((g / map.gridWidth) | 0) * step;
          const bx = Math.round((cx - v.x[k]) / step) - minX;
          const by = Math.round((cy - v.y[k]) / step) - minY;
          if (bx < 0 || by < 0 || bx >= bw || by >= bh) continue;
          acc[by * bw + bx] += weight;
          cnt[by * bw + bx]++;
        }
      }
      // Peak significance: votes above what this candidate gives by chance (mean + spread of its accumulator).
      let sum = 0, sq = 0;
      for (let i = 0; i < acc.length; i++) {
        sum += acc[i];
        sq += acc[i] * acc[i];
      }
      const mean = sum / acc.length;
      const sd = Math.sqrt(Math.max(1e-12, sq / acc.length - mean * mean));
      for (let i = 0; i < acc.length; i++) {
        const z = (acc[i] - mean) / sd;
        if (z > best.z) {
          best = { votes: acc[i], z, n: cnt[i], dx: ((i % bw) + minX) * step, dy: (((i / bw) | 0) + minY) * step, view: v };
        }
      }
    }
    // query -> view (rotation about the query centre) then view -> candidate (the winning translation)
    const m = best.view.toView;
    const transform: Affine = [m[0], m[1], m[2] + best.dx, m[3], m[4], m[5] + best.dy];
    const { footprint, region } = footprintOf(transform, query.width, query.height, c);
    out.push({
      entryId: c.entryId,
      score: best.z,
      nWords: best.n,
      transform,
      angle: best.view.angle,
      footprint,
      region,
    });
  }
  return out.sort((a, b) => b.score - a.score);
}

/**
 * The full verification: a coarse sweep over every candidate, then the leaders again with views at +-REFINE_STEP
 * around their best angles; a candidate keeps its better result.
 */
export function verify<Id>(
  query: GreyImage,
  quantize: (descriptors: Float32Array) => Uint16Array | Uint32Array,
  candidates: readonly VerifyCandidate<Id>[],
  vocabSize: number,
  opts: VerifyOptions = {},
): VerifiedMatch<Id>[] {
  const coarse = verifyCandidates(queryViews(query, quantize, opts), candidates, vocabSize, query, opts);
  const leaders = coarse.slice(0, REFINE_TOP);
  const swept = new Set(opts.angles ?? DEFAULT_SWEEP);
  const extra = [...new Set(leaders.flatMap((m) => [m.angle - REFINE_STEP, m.angle + REFINE_STEP]))].filter((a) => !swept.has(a));
  if (extra.length === 0) return coarse;
  const ids = new Set(leaders.map((m) => m.entryId));
  const refined = verifyCandidates(
    queryViews(query, quantize, { ...opts, angles: extra }),
    candidates.filter((c) => ids.has(c.entryId)),
    vocabSize,
    query,
    opts,
  );
  const better = new Map(refined.map((m) => [m.entryId, m]));
  return coarse
    .map((m) => {
      const r = better.get(m.entryId);
      return r && r.score > m.score ? r : m;
    })
    .sort((a, b) => b.score - a.score);
}
