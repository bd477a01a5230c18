/**
 * In-memory inverted file (DBoW2 `InvertedFile`: word -> postings of (entry, count)) with the reference's exact
 * paper-mode scoring (score.ts, reference 1.3). Query cost is the total length of the posting lists of the query's
 * valid words, instead of N * nnz for brute force; results are identical (unit-tested).
 *
 * Postings are growable typed arrays (entry slot Uint32 + raw count Float32, 8 bytes per posting). The idf and the
 * entries' tf-idf norms depend on N and every n_w, so they are recomputed lazily (O(total postings)) by the first
 * query after any add/remove. The service layer fills it from Postgres at start.
 */
import { MATLAB_EPS } from './bow.ts';
import { PAPER_SCORING, type IndexStatistics, type ScoringParams } from './score.ts';
import type { BowVector, QueryResult } from '../types.ts';

export interface InvertedFileQueryOptions {
  /** Number of results (default: all that pass the MatchThreshold filter, like NumResults = Inf). */
  first?: number;
}

/** Inverted file over (entryId, BowVector) entries; `Id` is whatever the caller uses (DB id). */
export class InvertedFile<Id = number> {
  readonly vocabSize: number;
  readonly params: ScoringParams;
  // postings
  private postSlot: Uint32Array[];
  private postCount: Float32Array[];
  private postLen: Uint32Array;
  // entries (by slot)
  private slotOf = new Map<Id, number>();
  private idOf: (Id | undefined)[] = [];
  private seqOf: number[] = [];
  private wordsOf: (Uint16Array | Uint32Array | undefined)[] = [];
  private freeSlots: number[] = [];
  private seq = 0;
  private nEntries = 0;
  private nPostings = 0;
  // lazily recomputed statistics
  private dirty = true;
  private idf = new Float32Array(0);
  private invNorm = new Float64Array(0);
  // query scratch
  private acc = new Float64Array(0);
  private shared = new Uint32Array(0);
  private touched = new Int32Array(0);

  constructor(vocabSize: number, params: ScoringParams = PAPER_SCORING) {
    if (!(vocabSize >= 1)) throw new RangeError('vocabSize must be >= 1');
    this.vocabSize = vocabSize;
    this.params = params;
    this.postSlot = new Array(vocabSize);
    this.postCount = new Array(vocabSize);
    this.postLen = new Uint32Array(vocabSize);
    const empty = new Uint32Array(0), emptyF = new Float32Array(0);
    for (let w = 0; w < vocabSize; w++) {
      this.postSlot[w] = empty;
      this.postCount[w] = emptyF;
    }
  }

  /** Number of entries (N). */
  get size(): number {
    return this.nEntries;
  }

  /** Total number of postings (sum of the entries' distinct words). */
  get postings(): number {
    return this.nPostings;
  }

  has(entryId: Id): boolean {
    return this.slotOf.has(entryId);
  }

  /** Entry ids in insertion order of their slots (removed ones excluded). */
  entryIds(): Id[] {
    const ids: Id[] = [];
    for (let s = 0; s < this.idOf.length; s++) {
      const id = this.liveId(s);
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  /** The id in slot `s`, or undefined where the slot is empty or its entry was removed (and maybe added again). */
  private liveId(s: number): Id | undefined {
    const id = this.idOf[s];
    return id !== undefined && this.slotOf.get(id) === s ? id : undefined;
  }

  /**
   * `results` followed by the entries they lack, in insertion order with score 0 and no shared words, up to `limit`
   * in all; `exclude` is never added. For re-rankers that must see every entry of a small repository whatever the
   * first stage ranked: `query` leaves out entries below MatchThreshold, and those sharing no valid word at all.
   */
  withUnranked(results: readonly QueryResult<Id>[], limit: number, exclude?: Id): QueryResult<Id>[] {
    const out = results.slice(0, limit);
    if (out.length >= limit) return out;
    const seen = new Set<Id>(out.map((r) => r.entryId));
    if (exclude !== undefined) seen.add(exclude);
    // slots in order, as entryIds() lists them, without building that list: stop as soon as the limit is reached
    for (let s = 0; s < this.idOf.length && out.length < limit; s++) {
      const id = this.liveId(s);
      if (id !== undefined && !seen.has(id)) out.push({ entryId: id, score: 0, nWords: 0 });
    }
    return out;
  }

  /** Add an entry (raw counts, sorted ids); an existing entry with the same id is replaced. */
  add(entryId: Id, bow: BowVector): void {
    if (this.slotOf.has(entryId)) this.remove(entryId);
    const n = bow.ids.length;
    for (let i = 0; i < n; i++) {
      const w = bow.ids[i];
      if (!(w < this.vocabSize)) throw new RangeError(`word ${w} outside vocabulary of ${this.vocabSize}`);
      if (i > 0 && !(w > bow.ids[i - 1])) throw new RangeError('BowVector ids must be strictly increasing');
    }
    const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.idOf.length;
    this.slotOf.set(entryId, slot);
    this.idOf[slot] = entryId;
    this.seqOf[slot] = this.seq++;
    this.wordsOf[slot] = this.vocabSize <= 65536 ? Uint16Array.from(bow.ids) : Uint32Array.from(bow.ids);
    for (let i = 0; i < n; i++) {
      if (!(bow.counts[i] > 0)) continue;
      const w = bow.ids[i];
      let len = this.postLen[w];
      if (len === this.postSlot[w].length) {
        const cap = Math.max(4, len * 2);
        const s = new Uint32Array(cap);
        s.set(this.postSlot[w]);
        const c = new Float32Array(cap);
        c.set(this.postCount[w]);
        this.postSlot[w] = s;
        this.postCount[w] = c;
      }
      this.postSlot[w][len] = slot;
      this.postCount[w][len] = bow.counts[i];
      this.postLen[w] = ++len;
      this.nPostings++;
    }
    this.nEntries++;
    this.dirty = true;
  }

  /** Remove an entry; returns false if it was not there. Cost: the lengths of its words' posting lists. */
  remove(entryId: Id): boolean {
    const slot = this.slotOf.get(entryId);
    if (slot === undefined) return false;
    const words = this.wordsOf[slot]!;
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      const ps = this.postSlot[w], pc = this.postCount[w];
      const len = this.postLen[w];
      for (let k = 0; k < len; k++) {
        if (ps[k] === slot) {
          ps[k] = ps[len - 1];
          pc[k] = pc[len - 1];
          this.postLen[w] = len - 1;
          this.nPostings--;
          break;
        }
      }
    }
    this.slotOf.delete(entryId);
    this.idOf[slot] = undefined;
    this.wordsOf[slot] = undefined;
    this.freeSlots.push(slot);
    this.nEntries--;
    this.dirty = true;
    return true;
  }

  /** Current statistics N, n_w, idf (reference 1.3). */
  statistics(): IndexStatistics {
    this.refresh();
    return { nDocs: this.nEntries, docFreq: Uint32Array.from(this.postLen), idf: this.idf };
  }

  /** Document frequency n_w of a word. */
  docFreq(word: number): number {
    return this.postLen[word];
  }

  private refresh(): void {
    if (!this.dirty) return;
    const N = this.nEntries;
    const V = this.vocabSize;
    const idf = new Float32Array(V);
    for (let w = 0; w < V; w++) idf[w] = Math.log(N / (this.postLen[w] + MATLAB_EPS));
    const nSlots = this.idOf.length;
    const norm2 = new Float64Array(nSlots);
    for (let w = 0; w < V; w++) {
      const len = this.postLen[w];
      if (len === 0) continue;
      const ps = this.postSlot[w], pc = this.postCount[w];
      const f = idf[w];
      for (let k = 0; k < len; k++) {
        const v = pc[k] * f;
        norm2[ps[k]] += v * v;
      }
    }
    const inv = new Float64Array(nSlots);
    for (let s = 0; s < nSlots; s++) inv[s] = norm2[s] > 0 ? 1 / Math.sqrt(norm2[s]) : 0;
    this.idf = idf;
    this.invNorm = inv;
    if (this.acc.length < nSlots) {
      this.acc = new Float64Array(nSlots);
      this.shared = new Uint32Array(nSlots);
      this.touched = new Int32Array(nSlots);
    }
    this.dirty = false;
  }

  /**
   * Paper-mode ranking of the entries for a query bag (raw counts): identical to `rankBruteForce` in score.ts.
   * Entries sharing fewer than MatchThreshold * |W| valid words are not returned.
   */
  query(bow: BowVector, opts: InvertedFileQueryOptions = {}): QueryResult<Id>[] {
    this.refresh();
    const N = this.nEntries;
    if (N === 0) return [];
    const first = opts.first ?? Infinity;
    const [lo, hi] = this.params.wordFrequencyRange;
    const idf = this.idf;
    let qn2 = 0;
    for (let i = 0; i < bow.ids.length; i++) {
      const v = bow.counts[i] * idf[bow.ids[i]];
      qn2 += v * v;
    }
    if (!(qn2 > 0)) return [];
    const qInv = 1 / Math.sqrt(qn2);
    const acc = this.acc, shared = this.shared, touched = this.touched;
    let nTouched = 0, nValid = 0;
    for (let i = 0; i < bow.ids.length; i++) {
      const w = bow.ids[i];
      const len = this.postLen[w];
      const f = len / N;
      if (!(f >= lo && f <= hi)) continue;
      nValid++;
      const coef = bow.counts[i] * idf[w] * qInv * idf[w];
      const ps = this.postSlot[w], pc = this.postCount[w];
      for (let k = 0; k < len; k++) {
        const s = ps[k];
        if (shared[s] === 0) touched[nTouched++] = s;
        shared[s]++;
        acc[s] += pc[k] * coef;
      }
    }
    const minShared = Math.max(1, this.params.matchThreshold * nValid);
    const cand: number[] = [];
    for (let t = 0; t < nTouched; t++) {
      const s = touched[t];
      if (shared[s] >= minShared) cand.push(s);
    }
    const scores = new Float64Array(this.idOf.length);
    for (const s of cand) scores[s] = acc[s] * this.invNorm[s];
    const order = (a: number, b: number): number => scores[b] - scores[a] || this.seqOf[a] - this.seqOf[b];
    let top: number[];
    if (first < cand.length / 8) {
      top = selectTop(cand, first, order);
    } else {
      top = cand.sort(order).slice(0, first);
    }
    const out: QueryResult<Id>[] = top.map((s) => ({ entryId: this.idOf[s] as Id, score: scores[s], nWords: shared[s] }));
    for (let t = 0; t < nTouched; t++) {
      const s = touched[t];
      acc[s] = 0;
      shared[s] = 0;
    }
    return out;
  }
}

/** The k best items under `order` (k small): a bounded max-heap of the worst kept item, then a final sort. */
function selectTop(items: number[], k: number, order: (a: number, b: number) => number): number[] {
  if (k <= 0) return [];
  const heap: number[] = [];
  // heap[0] = the worst of the kept (largest under `order`)
  const up = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (order(heap[i], heap[p]) <= 0) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && order(heap[l], heap[m]) > 0) m = l;
      if (r < heap.length && order(heap[r], heap[m]) > 0) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (const it of items) {
    if (heap.length < k) {
      heap.push(it);
      up(heap.length - 1);
    } else if (order(it, heap[0]) < 0) {
      heap[0] = it;
      down(0);
    }
  }
  return heap.sort(order);
}
