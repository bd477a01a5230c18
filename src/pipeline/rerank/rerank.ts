/**
 * Re-ranking of the top-K candidates of a first-stage query (issue 3; reference 1.4).
 *
 * - `rerankFast` (default mode): slide query-sized windows over every candidate's stored word map (stride at most a
 *   quarter of the query size), score each window's bag against the query bag with the global vocabulary and the
 *   global index statistics (paper-mode tf-idf cosine, score.ts), image score = best window, region = that window.
 * - `rerankPaper` (the honest variant of the reference, 1.4a): cut every candidate into query-sized equidistant
 *   patches (reference 1.5), build a NEW vocabulary on those patches only (size min(20000, #descriptors), strongest
 *   80%), index the patches, rank them for the query, image rank = rank of its best patch (reference 1.4a step 4).
 *   Slow by design (a vocabulary per query); kept to compare against.
 */
import { bowFromWords, type WordMap } from '../index/bow.ts';
import { InvertedFile } from '../index/inverted-index.ts';
import { PAPER_SCORING, prepareQuery, type IndexStatistics, type ScoringParams } from '../index/score.ts';
import { denseSurf, type DenseGridOptions, type FeatureSet } from '../features/surf.ts';
import type { BowVector, GreyImage, Region } from '../types.ts';
import { createQuantizer, DEFAULT_STRONGEST_FRACTION, selectStrongest } from '../index/vocabulary.ts';
import { trainVocabularyOffThread } from '../index/vocabulary-thread.ts';

/** Re-ranked candidate: score of its best window/patch and where that is. */
export interface RerankResult<Id> {
  readonly entryId: Id;
  readonly score: number;
  readonly nWords: number;
  /** Best window (fast) or best patch (paper) in candidate-image pixels. */
  readonly region: Region;
}

/**
 * Patch offsets along one side, as the reference's `splitImageIntoPatches` (reference 1.5): n = ceil(S/p) patches,
 * first at 0, last at S - p, inner ones at MATLAB 1-based round(i * (p - d)) with d = (n*p - S)/(n - 1), i.e. 0-based
 * round(i * (p - d)) - 1 (834 / 256 gives 0, 192, 384, 578). S <= p gives [0] (the reference fails for S < p; the
 * caller clips the patch to the image).
 */
export function splitImageIntoPatches(S: number, p: number): number[] {
  if (!(p >= 1)) throw new RangeError('patch size must be >= 1');
  const n = Math.ceil(S / p);
  if (n <= 1) return [0];
  const d = (n * p - S) / (n - 1);
  const out: number[] = [0];
  for (let i = 1; i < n - 1; i++) out.push(Math.round(i * (p - d)) - 1);
  out.push(S - p);
  return out;
}

/** Window offsets 0, stride, 2*stride, ... and always S - w (so the far border is covered); [0] when w >= S. */
export function windowOffsets(S: number, w: number, stride: number): number[] {
  if (w >= S) return [0];
  const out: number[] = [];
  for (let o = 0; o <= S - w; o += stride) out.push(o);
  if (out[out.length - 1] !== S - w) out.push(S - w);
  return out;
}

/** A candidate for fast re-ranking: its stored word map (global vocabulary) and size. */
export interface FastRerankCandidate<Id> {
  readonly entryId: Id;
  readonly width: number;
  readonly height: number;
  readonly wordMap: WordMap;
}

export interface FastRerankOptions {
  /** Window stride in px; default floor(min(query side)/4) rounded down to a multiple of the grid step (>= step). */
  stride?: number;
  params?: ScoringParams;
}

/**
 * Fast re-ranking from word maps (see the module comment).
 * @param query the query's bag in the global vocabulary (raw counts)
 * @param querySize query image size in px (window size)
 * @param stats the global index statistics (N, n_w, idf) the first stage used
 * @returns candidates by best-window score, descending (ties: input order); a candidate with no window sharing
 *   enough valid words gets score 0, nWords 0 and its first window as region
 */
export function rerankFast<Id>(query: BowVector, querySize: { width: number; height: number }, candidates: readonly FastRerankCandidate<Id>[],
  stats: IndexStatistics, opts: FastRerankOptions = {}): RerankResult<Id>[] {
  const params = opts.params ?? PAPER_SCORING;
  const V = stats.idf.length;
  const pq = prepareQuery(query, stats, params);
  const qCoef = new Float64Array(V); // x_q[w] * idf[w] for valid words
  const valid = new Uint8Array(V);
  for (let i = 0; i < pq.words.length; i++) {
    qCoef[pq.words[i]] = pq.weights[i] * stats.idf[pq.words[i]];
    valid[pq.words[i]] = 1;
  }
  const idf = stats.idf;
  const counts = new Float32Array(V);
  let touched = new Uint32Array(4096);
  const results: (RerankResult<Id> & { order: number })[] = [];
  candidates.forEach((cand, ci) => {
    const map = cand.wordMap;
    const ww = Math.min(querySize.width, cand.width), wh = Math.min(querySize.height, cand.height);
    let stride = opts.stride ?? Math.max(1, Math.floor(Math.min(querySize.width, querySize.height) / 4));
    if (opts.stride === undefined && stride >= map.step) stride -= stride % map.step;
    const xs = windowOffsets(cand.width, ww, stride), ys = windowOffsets(cand.height, wh, stride);
    let best = { score: 0, nWords: 0, x: xs[0], y: ys[0] };
    let found = false;
    const nS = map.nScales;
    for (const y of ys) {
      const gy0 = Math.max(0, Math.ceil((y - map.start) / map.step)), gy1 = Math.min(map.gridHeight, Math.ceil((y + wh - map.start) / map.step));
      for (const x of xs) {
        const gx0 = Math.max(0, Math.ceil((x - map.start) / map.step)), gx1 = Math.min(map.gridWidth, Math.ceil((x + ww - map.start) / map.step));
        let nT = 0;
        const need = Math.max(0, (gx1 - gx0) * (gy1 - gy0) * nS);
        if (touched.length < need) touched = new Uint32Array(need);
        for (let gy = gy0; gy < gy1; gy++) {
          const end = (gy * map.gridWidth + gx1) * nS;
          for (let i = (gy * map.gridWidth + gx0) * nS; i < end; i++) {
            const w = map.words[i];
            if (counts[w]++ === 0) touched[nT++] = w;
          }
        }
        let n2 = 0, dot = 0, shared = 0;
        for (let t = 0; t < nT; t++) {
          const w = touched[t];
          const c = counts[w];
          const v = c * idf[w];
          n2 += v * v;
          if (valid[w]) {
            dot += c * qCoef[w];
            shared++;
          }
          counts[w] = 0;
        }
        if (shared >= pq.minShared && n2 > 0) {
          const score = dot / Math.sqrt(n2);
          if (!found || score > best.score) {
            best = { score, nWords: shared, x, y };
            found = true;
          }
        }
      }
    }
    results.push({ entryId: cand.entryId, score: best.score, nWords: best.nWords, region: { x: best.x, y: best.y, width: ww, height: wh }, order: ci });
  });
  results.sort((a, b) => b.score - a.score || a.order - b.order);
  return results.map(({ order: _o, ...r }) => r);
}

/** A candidate for paper-mode re-ranking: its pixels (the CoMIR or grey image the BoW is built on). */
export interface PaperRerankCandidate<Id> {
  readonly entryId: Id;
  readonly image: GreyImage;
}

export interface PaperRerankOptions {
  /** Re-rank vocabulary size (reference VOC_RERANK = 20000), capped at the descriptor count. */
  vocabularySize?: number;
  seed?: number;
  /** StrongestFeatures for the re-rank vocabulary (default 0.8, reference 1.2). */
  strongestFraction?: number;
  maxIterations?: number;
  grid?: DenseGridOptions;
  params?: ScoringParams;
  /** Append candidates none of whose patches was returned (MatchThreshold), score 0, after the ranked ones (default false, as the reference drops them). */
  keepUnmatched?: boolean;
}

function cropGrey(img: GreyImage, x: number, y: number, w: number, h: number): GreyImage {
  const data = new Float32Array(w * h);
  for (let r = 0; r < h; r++) data.set(img.data.subarray((y + r) * img.width + x, (y + r) * img.width + x + w), r * w);
  return { width: w, height: h, data };
}

/**
 * Paper-mode re-ranking (reference 1.4a): per query, patches of the candidates -> new vocabulary -> new index ->
 * patches ranked -> image rank = best patch. Deterministic given `seed`.
 * @param query query pixels (its size is the patch size)
 * @param candidates the top-K candidates' pixels, in first-stage order
 */
export async function rerankPaper<Id>(query: GreyImage, candidates: readonly PaperRerankCandidate<Id>[], opts: PaperRerankOptions = {}): Promise<RerankResult<Id>[]> {
  const grid = opts.grid ?? {};
  const patches: { cand: number; region: Region; features: FeatureSet }[] = [];
  candidates.forEach((c, ci) => {
    const pw = Math.min(query.width, c.image.width), ph = Math.min(query.height, c.image.height);
    for (const y of splitImageIntoPatches(c.image.height, ph)) {
      for (const x of splitImageIntoPatches(c.image.width, pw)) {
        const img = pw === c.image.width && ph === c.image.height ? c.image : cropGrey(c.image, x, y, pw, ph);
        patches.push({ cand: ci, region: { x, y, width: pw, height: ph }, features: denseSurf(img, grid) });
      }
    }
  });
  if (patches.length === 0) return [];
  const strongest = selectStrongest(patches.map((p) => p.features), opts.strongestFraction ?? DEFAULT_STRONGEST_FRACTION);
  // a 20,000-word k-means per query: minutes, so off this thread (vocabulary-thread.ts)
  const vocab = await trainVocabularyOffThread(strongest, 64, {
    size: opts.vocabularySize ?? 20000, seed: opts.seed ?? 0, transfer: true,
    ...(opts.maxIterations !== undefined ? { maxIterations: opts.maxIterations } : {}),
  });
  const qz = createQuantizer(vocab);
  const index = new InvertedFile<number>(vocab.size, opts.params ?? PAPER_SCORING);
  patches.forEach((p, k) => index.add(k, bowFromWords(qz.quantize(p.features.descriptors), vocab.size)));
  const qBow = bowFromWords(qz.quantize(denseSurf(query, grid).descriptors), vocab.size);
  const ranked = index.query(qBow);
  const seen = new Set<number>();
  const out: RerankResult<Id>[] = [];
  for (const r of ranked) {
    const p = patches[r.entryId];
    if (seen.has(p.cand)) continue;
    seen.add(p.cand);
    out.push({ entryId: candidates[p.cand].entryId, score: r.score, nWords: r.nWords, region: p.region });
  }
  if (opts.keepUnmatched) {
    candidates.forEach((c, ci) => {
      if (!seen.has(ci)) out.push({ entryId: c.entryId, score: 0, nWords: 0, region: { x: 0, y: 0, width: Math.min(query.width, c.image.width), height: Math.min(query.height, c.image.height) } });
    });
  }
  return out;
}
