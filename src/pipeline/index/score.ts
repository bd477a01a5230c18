/**
 * Scoring of bags of words, exactly as MATLAB's `invertedImageIndex` / `retrieveImages` (reference 1.3, the
 * `paper` mode): x = tf * idf with tf = count / total and idf_w = ln(N / (n_w + eps)); x L2-normalised over ALL of
 * its words (query and entry alike); score = sum over the query's valid words W of x_entry[w] * x_query[w], where
 * W = {w in query : 0.01 <= n_w / N <= 0.9} (`WordFrequencyRange`); entries sharing fewer than
 * 0.01 * |W| (`MatchThreshold`) words of W, or none at all, are not returned.
 *
 * Note that tf's 1/total cancels in the normalisation, so x = count * idf / ||count * idf||.
 * Query words that occur in no indexed entry (n_w = 0) still enter the query norm with idf = ln(N / eps), as in
 * MATLAB; this scales every score of that query by the same factor and does not change the ranking.
 */
import { computeIdf } from './bow.ts';
import type { BowVector, QueryResult } from '../types.ts';

/** Stop-word and candidate-filter parameters (MATLAB names). */
export interface ScoringParams {
  /** Valid query words have document frequency n_w / N inside [lo, hi] (inclusive). */
  readonly wordFrequencyRange: readonly [number, number];
  /** Entries must contain at least this fraction of the query's valid words. */
  readonly matchThreshold: number;
}

/** MATLAB defaults: WordFrequencyRange [0.01 0.9], MatchThreshold 0.01 (reference 1.3). */
export const PAPER_SCORING: ScoringParams = Object.freeze({ wordFrequencyRange: Object.freeze([0.01, 0.9] as const), matchThreshold: 0.01 });

/** Index statistics the scores depend on (reference 1.3). */
export interface IndexStatistics {
  readonly nDocs: number;
  /** n_w: number of entries containing word w. */
  readonly docFreq: Uint32Array;
  /** ln(N / (n_w + eps)). */
  readonly idf: Float32Array;
}

/** Statistics from document frequencies. */
export function indexStatistics(docFreq: Uint32Array, nDocs: number): IndexStatistics {
  return { nDocs, docFreq, idf: computeIdf(docFreq, nDocs) };
}

/** ||count * idf||_2 over all words of a bag. */
export function tfidfNorm(bow: BowVector, idf: Float32Array): number {
  let s = 0;
  for (let i = 0; i < bow.ids.length; i++) {
    const v = bow.counts[i] * idf[bow.ids[i]];
    s += v * v;
  }
  return Math.sqrt(s);
}

/** A query reduced to its valid words W and their normalised weights x_q[w]. */
export interface PreparedQuery {
  /** Valid word ids, increasing. */
  readonly words: Uint32Array;
  /** x_q[w] for each valid word. */
  readonly weights: Float64Array;
  /** Minimum number of shared valid words for an entry to be returned: max(1, matchThreshold * |W|). */
  readonly minShared: number;
}

/**
 * Stop-word filtering and weighting of a query (reference 1.3).
 * @param query raw word counts of the query
 * @param stats statistics of the index it is matched against
 */
export function prepareQuery(query: BowVector, stats: IndexStatistics, params: ScoringParams = PAPER_SCORING): PreparedQuery {
  const { nDocs, docFreq, idf } = stats;
  const [lo, hi] = params.wordFrequencyRange;
  const norm = tfidfNorm(query, idf);
  const ids: number[] = [];
  const ws: number[] = [];
  if (nDocs > 0 && norm > 0) {
    for (let i = 0; i < query.ids.length; i++) {
      const w = query.ids[i];
      const f = docFreq[w] / nDocs;
      if (f >= lo && f <= hi) {
        ids.push(w);
        ws.push((query.counts[i] * idf[w]) / norm);
      }
    }
  }
  return {
    words: Uint32Array.from(ids),
    weights: Float64Array.from(ws),
    minShared: Math.max(1, params.matchThreshold * ids.length),
  };
}

/**
 * Score of one entry against a prepared query, or null when the entry is filtered out (shares fewer than
 * `minShared` valid words).
 */
export function scorePrepared(q: PreparedQuery, entry: BowVector, idf: Float32Array, entryNorm = tfidfNorm(entry, idf)): { score: number; nWords: number } | null {
  if (q.words.length === 0 || !(entryNorm > 0)) return null;
  // merge-join of two sorted id lists
  let i = 0, j = 0, dot = 0, nWords = 0;
  const a = q.words, b = entry.ids;
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) i++;
    else if (a[i] > b[j]) j++;
    else {
      dot += q.weights[i] * entry.counts[j] * idf[b[j]];
      nWords++;
      i++;
      j++;
    }
  }
  if (nWords < q.minShared) return null;
  return { score: dot / entryNorm, nWords };
}

/** Reference score of `entry` for `query` (paper mode), or null if the entry would not be returned. */
export function paperScore(query: BowVector, entry: BowVector, stats: IndexStatistics, params: ScoringParams = PAPER_SCORING): { score: number; nWords: number } | null {
  return scorePrepared(prepareQuery(query, stats, params), entry, stats.idf);
}

/** Order: score descending, then insertion order (stable). */
export function compareResults(a: { score: number }, b: { score: number }): number {
  return b.score - a.score;
}

/**
 * Brute-force paper-mode ranking of all entries (the reference's `retrieveImages` with NumResults = Inf); the
 * statistics are computed from `entries` themselves. O(N * nnz); the InvertedFile gives the same answer faster.
 */
export function rankBruteForce<Id>(query: BowVector, entries: ReadonlyArray<{ entryId: Id; bow: BowVector }>, vocabSize: number,
  params: ScoringParams = PAPER_SCORING, first = Infinity): QueryResult<Id>[] {
  const df = new Uint32Array(vocabSize);
  for (const e of entries) for (let i = 0; i < e.bow.ids.length; i++) df[e.bow.ids[i]]++;
  const stats = indexStatistics(df, entries.length);
  const q = prepareQuery(query, stats, params);
  const out: QueryResult<Id>[] = [];
  for (const e of entries) {
    const r = scorePrepared(q, e.bow, stats.idf);
    if (r) out.push({ entryId: e.entryId, score: r.score, nWords: r.nWords });
  }
  return out.sort(compareResults).slice(0, first);
}
