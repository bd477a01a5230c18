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
