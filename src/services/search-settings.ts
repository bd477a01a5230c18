/**
 * What a search request may ask and what it gets when it does not ask: the re-ranking modes, the limits, CORRELATE's
 * settings (the request's, else the target's model pair's manifest `search`, else the defaults below), and the
 * validated plan (sharp's habit: check everything, then execute once).
 */
import { BadUserInputError, invalidParameter, optionalInRange } from '../errors.ts';
import type { ComirManifest } from '../pipeline/comir/comir.ts';
import { CALIBRATED, type ConfidenceModel, DEFAULT_CONFIDENCE, marginAt } from '../pipeline/rerank/confidence.ts';
import { MAX_REFINE, POSE_BOUNDS } from '../pipeline/rerank/correlate.ts';
import { validateNoDataValue } from './no-data.ts';
import { validatePixelSize } from './pixel-size.ts';
import type { ModalityWithModel } from './representation.service.ts';

export type RerankMode = 'auto' | 'none' | 'fast' | 'paper' | 'verify' | 'correlate';
export const RERANK_MODES: readonly RerankMode[] = ['auto', 'none', 'fast', 'paper', 'verify', 'correlate'];

export interface SearchInput {
  /** The query's bytes (an upload or a file), or */
  data?: Buffer | null;
  /** a stored image. */
  imageId?: number | null;
  /** Modality of the query; taken from the stored image when imageId is given. */
  modality?: string | null;
  target: string;
  first?: number | null;
  /** The query's fill where it has no data (0..1 of full scale; pipeline/decode/nodata.ts). */
  noDataValue?: number | null;
  /**
   * The query's pixel size (micrometres per pixel; a stored query's own by default). With the target model's working
   * resolution (manifest `working_resolution`) the query is resampled to it, as whole-slide tiles are.
   */
  micronsPerPixel?: number | null;
  rerank?: { mode?: RerankMode | null; topK?: number | null; maxRotation?: number | null; scaleTolerance?: number | null; structureWeight?: number | null; refine?: number | null } | null;
}

/** 'vectors': windows of the representation in pgvector (docs/adr/0011); 'words': the paper's bag of words. */
export type FirstStage = 'vectors' | 'words';

/** The first stage a re-ranking mode needs: the word-based ones re-rank stored word maps (docs/adr/0003). */
export function firstStageOf(mode: Exclude<RerankMode, 'auto'>): FirstStage {
  return mode === 'fast' || mode === 'paper' || mode === 'verify' ? 'words' : 'vectors';
}

/**
 * What 'auto' runs. Across the two modalities of a CoMIR pair, dense correlation of the CoMIRs: bench/results/
 * shg-bf-quick.md, whole cores Acc@1 SHG->BF 61.5 % and BF->SHG 30.8 % against 0 % and 15.4 % for verify (crops are
 * near chance with both there). Within one modality, spatial verification on the stored word maps, for speed:
 * within-shg-verify.md (31 SHG cores, Acc@1 100 % whole, 90.3 % crops, crop p50 0.33 s) against
 * within-shg-correlate.md (100 %, 96.8 %, but crop p50 11.8 s on a machine loaded by two other benchmarks).
 */
export function autoRerank(queryModality: { id: number }, target: { id: number }, hasVocabulary = true): Exclude<RerankMode, 'auto'> {
  return queryModality.id === target.id && hasVocabulary ? 'verify' : 'correlate';
}

/**
 * Bounds of k and of the re-ranked candidate count. The reference re-ranks HIT = 15 or 30 (reference 1.8): the default
 * for the word-based modes, and for CORRELATE after a learned window descriptor's first stage, whose recall at 30 is
 * 97.5 % (whole) and 92.5 % (30 % crops) on 160 vis-nir images, and re-ranking its 30 was as accurate as re-ranking
 * all 160 (docs/adr/0015, bench/results/scale-retrieval-160-k.md). After the hand-made box vector CORRELATE re-ranks up
 * to 200: its recall at 30 is 80.0 / 66.3 % (docs/adr/0012, 0015). The cost grows with K (docs/adr/0004).
 */
export const SEARCH_LIMITS = { first: 100, topK: 200, defaultTopK: 30, defaultCorrelateTopK: 200, defaultFirst: 10 } as const;

/**
 * The poses CORRELATE tries (pipeline/rerank/correlate.ts correlationPoses) when neither the request nor the target's CoMIR
 * pair (manifest `search`) says: rotations within the benchmark protocol's +-30 degrees (../shared/data/README.md) at
 * one scale. docs/adr/0005: a +-10 % scale sweep took vis-nir's default (real warps, scales 0.90..1.10) from Acc@1
 * 41.7-58.3 % to 54.2-70.8 % (bench/results/vis-nir-quick.md) but cost shg-bf (one pixel size) 69 -> 46 % on whole
 * cores in a side experiment, with three times the poses: so it is the vis-nir pair's default
 * (models/vis-nir/manifest.json), not everyone's.
 */
export const POSE_DEFAULTS = { maxRotation: 30, scaleTolerance: 0 } as const;

/**
 * The weight of structure (pipeline/rerank/structure.ts) in CORRELATE's score when neither the request nor the target's CoMIR
 * pair (manifest `search.structure_weight`) says: none. It helps where two modalities share edges (vis-nir:
 * docs/adr/0008) and costs a second correlation; SHG shows collagen only, so its edges are not H&E's
 * (docs/adr/0008 has the shg-bf measurement).
 */
export const DEFAULT_STRUCTURE_WEIGHT = 0;

/**
 * How many of CORRELATE's best candidates are correlated again at twice the working resolution, near the
 * pose each was found at (pipeline/rerank/correlate.ts), when neither the request nor the target's CoMIR pair (manifest
 * `search.refine`) says: none. Small queries meet the candidates' size limit (MAX_CANDIDATE_WORKING_SIZE) first: a 30 %
 * crop of a 1024 px vis-nir photograph is correlated on 38 x 25 px. docs/adr/0009 has the measurement.
 */
export const DEFAULT_REFINE = 0;

/**
 * CORRELATE's cascade (docs/adr/0016): the first stage's best `head` candidates are correlated first and the best
 * `refine` of them refined; when the best refined one leads the others by the margin of the target's confidence
 * threshold (a top-1 a client would take without review), the other candidates are not correlated. Measured on 160
 * vis-nir images (24 whole + 24 crop NIR->RGB queries, tmp trace of the K = 30 runs): head 8 / refine 5 kept every
 * top-1 of re-ranking all 30 and correlated 16 (whole) and 24 (crops) of 50 candidate passes on average.
 * A request that names its topK re-ranks all K.
 */
export const DEFAULT_CASCADE = { head: 8, refine: 5 } as const;

/** CORRELATE's settings: the request's, else the target's model pair's (manifest `search`), else the defaults. */
export function correlationSettings(
  request: { maxRotation: number | null; scaleTolerance: number | null; structureWeight: number | null; refine: number | null; topK?: number | null },
  target: ModalityWithModel,
): CorrelationSettings {
  const declared = (target.comirModel?.manifest as { search?: ComirManifest['search'] } | null | undefined)?.search;
  const confidence = confidenceModel(target);
  return {
    maxRotation: request.maxRotation ?? declared?.max_rotation ?? POSE_DEFAULTS.maxRotation,
    scaleTolerance: request.scaleTolerance ?? declared?.scale_tolerance ?? POSE_DEFAULTS.scaleTolerance,
    structureWeight: request.structureWeight ?? declared?.structure_weight ?? DEFAULT_STRUCTURE_WEIGHT,
    refine: request.refine ?? declared?.refine ?? DEFAULT_REFINE,
    cascade: request.topK == null ? { ...DEFAULT_CASCADE, stopLead: marginAt(confidence.threshold, confidence) } : null,
  };
}

export interface CorrelationSettings {
  maxRotation: number;
  scaleTolerance: number;
  /** 0..1: the score is (1 - w) x the CoMIR's NCC + w x the structure's. */
  structureWeight: number;
  /** How many of the best candidates are correlated again at twice the resolution (0 = none; refinementOptions). */
  refine: number;
  /** The cascade (DEFAULT_CASCADE) and the refined lead that ends it; null: every one of the K candidates is correlated. */
  cascade: { head: number; refine: number; stopLead: number } | null;
}

/**
 * The number of candidates a mode re-ranks when the request does not say: CORRELATE after a first stage of hand-made
 * window vectors (`learnedFirstStage` false) re-ranks more (SEARCH_LIMITS).
 */
export function defaultTopK(mode: Exclude<RerankMode, 'auto'>, learnedFirstStage = false): number {
  return mode === 'correlate' && !learnedFirstStage ? SEARCH_LIMITS.defaultCorrelateTopK : SEARCH_LIMITS.defaultTopK;
}

/** A validated search plan (sharp's habit: check everything, then execute once). */
export interface SearchPlan {
  first: number;
  mode: RerankMode;
  /** Unset: the mode's default (SEARCH_LIMITS), chosen once 'auto' is resolved. */
  topK: number | null;
  /** CORRELATE's sweep (+-degrees, relative scale range) and structure weight; unset: correlationSettings' defaults. */
  maxRotation: number | null;
  scaleTolerance: number | null;
  structureWeight: number | null;
  refine: number | null;
  noDataValue: number | null;
  micronsPerPixel: number | null;
}

export function planSearch(input: SearchInput): SearchPlan {
  if ((input.data == null) === (input.imageId == null)) {
    throw new BadUserInputError('give exactly one query: an image file or the id of a stored image');
  }
  const first = input.first ?? SEARCH_LIMITS.defaultFirst;
  if (!Number.isInteger(first) || first < 1 || first > SEARCH_LIMITS.first) {
    throw invalidParameter('first', `an integer between 1 and ${SEARCH_LIMITS.first}`, first);
  }
  const mode = input.rerank?.mode ?? 'auto';
  if (!RERANK_MODES.includes(mode)) throw invalidParameter('rerank.mode', RERANK_MODES.join(', '), mode);
  const topK = optionalInRange('rerank.topK', input.rerank?.topK, 1, SEARCH_LIMITS.topK, 'integer');
  const maxRotation = optionalInRange('rerank.maxRotation', input.rerank?.maxRotation, 0, POSE_BOUNDS.maxRotation, 'degrees');
  const scaleTolerance = optionalInRange('rerank.scaleTolerance', input.rerank?.scaleTolerance, 0, POSE_BOUNDS.scaleTolerance, 'fraction');
  const structureWeight = optionalInRange('rerank.structureWeight', input.rerank?.structureWeight, 0, 1, 'weight');
  const refine = optionalInRange('rerank.refine', input.rerank?.refine, 0, MAX_REFINE, 'integer');
  const noDataValue = validateNoDataValue(input.noDataValue);
  const micronsPerPixel = validatePixelSize(input.micronsPerPixel);
  return { first, mode, topK, maxRotation, scaleTolerance, structureWeight, refine, noDataValue, micronsPerPixel };
}

/** The target's model pair's confidence calibration: its manifest's `search.confidence`, else the shipped pair's, else the default. */
export function confidenceModel(target: ModalityWithModel): ConfidenceModel {
  const declared = (target.comirModel?.manifest as { search?: ComirManifest['search'] } | null | undefined)?.search?.confidence;
  return declared ?? (target.comirModel ? CALIBRATED[target.comirModel.name] : undefined) ?? DEFAULT_CONFIDENCE;
}
