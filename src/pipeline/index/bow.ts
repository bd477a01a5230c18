/**
 * Bags of visual words and word maps (DBoW2 `BowVector`; reference 1.2 encoding: every descriptor votes for its
 * nearest word, histograms hold raw counts).
 *
 * A word map keeps the word of every descriptor at its grid position and scale, so the histogram of any pixel
 * window is a count over stored words: this is what makes fast re-ranking and localisation cheap (issue 3).
 */
import type { FeatureSet } from '../features/surf.ts';
import type { BowVector, WordId } from '../types.ts';

export type { BowVector, WordId } from '../types.ts';

/** MATLAB `eps` (2^-52), added to document frequencies in the reference's IDF (reference 1.3). */
export const MATLAB_EPS = 2.220446049250313e-16;

/** Word of every grid descriptor, index = ((gy * gridWidth + gx) * nScales + scaleIndex), as in FeatureSet. */
export interface WordMap {
  readonly gridWidth: number;
  readonly gridHeight: number;
  readonly nScales: number;
  /** Grid step and first coordinate in px (0-based), as used by denseSurf. */
  readonly step: number;
  readonly start: number;
  readonly words: Uint16Array | Uint32Array;
}

/** An empty bag. */
export function emptyBow(): BowVector {
  return { ids: new Uint32Array(0), counts: new Float32Array(0) };
}

/**
 * Histogram of word ids (raw counts, sorted ids).
 * @param words word id per descriptor
 * @param vocabSize number of words; ids must lie in [0, vocabSize)
 */
export function bowFromWords(words: ArrayLike<number>, vocabSize: number): BowVector {
  const n = words.length;
  if (n === 0) return emptyBow();
  // Dense counting is O(vocabSize); sorting is O(n log n). Use the cheaper one.
  if (vocabSize <= 4 * n) {
    const c = new Uint32Array(vocabSize);
    let nnz = 0;
    for (let i = 0; i < n; i++) {
      const w = words[i];
      if (!(w >= 0 && w < vocabSize)) throw new RangeError(`word id ${w} outside [0, ${vocabSize})`);
      if (c[w]++ === 0) nnz++;
    }
    const ids = new Uint32Array(nnz);
    const counts = new Float32Array(nnz);
    for (let w = 0, k = 0; k < nnz; w++) {
      if (c[w] !== 0) {
        ids[k] = w;
        counts[k++] = c[w];
      }
    }
    return { ids, counts };
  }
  const sorted = Uint32Array.from(words as ArrayLike<number>).sort();
  if (sorted[n - 1] >= vocabSize) throw new RangeError(`word id ${sorted[n - 1]} outside [0, ${vocabSize})`);
  return runLength(sorted, n);
}

function runLength(sorted: Uint32Array, n: number): BowVector {
  if (n === 0) return emptyBow();
  let nnz = 1;
  for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) nnz++;
  const ids = new Uint32Array(nnz);
  const counts = new Float32Array(nnz);
  let k = 0;
  ids[0] = sorted[0];
  counts[0] = 1;
  for (let i = 1; i < n; i++) {
    if (sorted[i] === sorted[i - 1]) counts[k]++;
    else {
      ids[++k] = sorted[i];
      counts[k] = 1;
    }
  }
  return { ids, counts };
}

/** Total number of descriptors in a bag (sum of counts). */
export function bowTotal(bow: BowVector): number {
  let t = 0;
  for (let i = 0; i < bow.counts.length; i++) t += bow.counts[i];
  return t;
}

/** Word map of an image from its dense features and their word ids (same order as the FeatureSet). */
export function wordMapFromFeatures(features: FeatureSet, words: Uint16Array | Uint32Array): WordMap {
  if (words.length !== features.count) throw new RangeError('one word per descriptor expected');
  return {
    gridWidth: features.gridWidth, gridHeight: features.gridHeight, nScales: features.nScales,
    step: features.step, start: features.start, words,
  };
}

/** Grid index range [g0, g1) of points whose pixel coordinate lies in [p, p + len). */
function gridRange(start: number, step: number, count: number, p: number, len: number): [number, number] {
  const g0 = Math.max(0, Math.ceil((p - start) / step));
  const g1 = Math.min(count, Math.ceil((p + len - start) / step));
  return [g0, Math.max(g0, g1)];
}

/**
 * Grid cells [gx0, gx1) x [gy0, gy1) whose point lies inside the pixel window [x, x+w) x [y, y+h).
 */
export function windowGridRange(map: WordMap, x: number, y: number, w: number, h: number): { gx0: number; gx1: number; gy0: number; gy1: number } {
  const [gx0, gx1] = gridRange(map.start, map.step, map.gridWidth, x, w);
  const [gy0, gy1] = gridRange(map.start, map.step, map.gridHeight, y, h);
  return { gx0, gx1, gy0, gy1 };
}

/**
 * Histogram of the words whose grid point lies inside the pixel window [x, x+w) x [y, y+h) (all scales).
 * Descriptors near the window border were computed on the whole image, so they see content outside the window.
 */
export function windowBow(map: WordMap, x: number, y: number, w: number, h: number): BowVector {
  const { gx0, gx1, gy0, gy1 } = windowGridRange(map, x, y, w, h);
  const nS = map.nScales;
  const n = (gx1 - gx0) * (gy1 - gy0) * nS;
  const buf = new Uint32Array(n);
  let k = 0;
  for (let gy = gy0; gy < gy1; gy++) {
    const rowStart = (gy * map.gridWidth + gx0) * nS;
    const rowEnd = (gy * map.gridWidth + gx1) * nS;
    for (let i = rowStart; i < rowEnd; i++) buf[k++] = map.words[i];
  }
  buf.sort();
  return runLength(buf, n);
}

/** Histogram of a whole word map. */
export function wordMapBow(map: WordMap, vocabSize: number): BowVector {
  return bowFromWords(map.words, vocabSize);
}

/** Number of bags containing each word (n_w, reference 1.3). */
export function documentFrequencies(bows: Iterable<BowVector>, vocabSize: number): Uint32Array {
  const df = new Uint32Array(vocabSize);
  for (const b of bows) for (let i = 0; i < b.ids.length; i++) df[b.ids[i]]++;
  return df;
}

/**
 * Inverse document frequency as MATLAB's invertedImageIndex computes it (reference 1.3):
 * idf_w = ln(N / (n_w + eps)), eps = 2^-52. A word in no document gets ln(N/eps) (about 36 + ln N).
 */
export function computeIdf(docFreq: ArrayLike<number>, nDocs: number): Float32Array {
  const idf = new Float32Array(docFreq.length);
  for (let w = 0; w < docFreq.length; w++) idf[w] = Math.log(nDocs / (docFreq[w] + MATLAB_EPS));
  return idf;
}

/** Serialise a word map: header (magic "CMWM", version 1, gridWidth, gridHeight, nScales, step, start, bytesPerWord) u32 LE + words LE. */
export function serializeWordMap(map: WordMap): Buffer {
  const bpw = map.words instanceof Uint16Array ? 2 : 4;
  const head = 32;
  const buf = Buffer.alloc(head + map.words.length * bpw);
  buf.write('CMWM', 0, 'latin1');
  const vals = [1, map.gridWidth, map.gridHeight, map.nScales, map.step, map.start, bpw];
  vals.forEach((v, i) => buf.writeUInt32LE(v, 4 + 4 * i));
  for (let i = 0; i < map.words.length; i++) {
    if (bpw === 2) buf.writeUInt16LE(map.words[i], head + 2 * i);
    else buf.writeUInt32LE(map.words[i], head + 4 * i);
  }
  return buf;
}

/** Inverse of serializeWordMap. */
export function deserializeWordMap(buf: Uint8Array): WordMap {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.toString('latin1', 0, 4) !== 'CMWM' || b.readUInt32LE(4) !== 1) throw new Error('not a cmir word map (v1)');
  const [gridWidth, gridHeight, nScales, step, start, bpw] = [8, 12, 16, 20, 24, 28].map((o) => b.readUInt32LE(o));
  const n = gridWidth * gridHeight * nScales;
  if (b.length !== 32 + n * bpw) throw new Error('word map length mismatch');
  const words = bpw === 2 ? new Uint16Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) words[i] = bpw === 2 ? b.readUInt16LE(32 + 2 * i) : b.readUInt32LE(32 + 4 * i);
  return { gridWidth, gridHeight, nScales, step, start, words };
}
