/**
 * Shared value types of the pure retrieval pipeline (no Prisma, no Apollo imports anywhere in src/pipeline).
 * Names follow DBoW2 where it has one (WordId, BowVector, QueryResult).
 */

/** A single-channel image, row-major, values normalised to [0, 1] (see decode.ts for the per-modality rules). */
export interface GreyImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** A multi-channel image, interleaved (HWC), values in [0, 1]; the input of CoMIR networks. */
export interface PlanarImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float32Array;
}

/** Word index in a vocabulary (DBoW2 `WordId`). */
export type WordId = number;

/**
 * Sparse bag of words (DBoW2 `BowVector`): strictly increasing word ids with their raw counts (the reference's
 * index stores raw counts, `Normalization='none'`, reference 1.2).
 */
export interface BowVector {
  readonly ids: Uint32Array;
  readonly counts: Float32Array;
}

/** One ranked answer of an index query (DBoW2 `Result{Id, Score, nWords}`). */
export interface QueryResult<Id = number> {
  readonly entryId: Id;
  /** tf-idf cosine restricted to the query's valid words (reference 1.3). */
  readonly score: number;
  /** Number of the query's valid (non-stop) words the entry contains. */
  readonly nWords: number;
}

/** Axis-aligned rectangle in image pixels (0-based, x/y = top-left corner). */
export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}
