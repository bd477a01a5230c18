import { performance } from 'node:perf_hooks';
import type { Config } from '../config.ts';
import type { FileStore } from '../db/file-store.ts';
import type { Image } from '../db/generated/client.ts';
import type { ImageRepository } from '../db/image.repository.ts';
import type { VectorRepository } from '../db/vector.repository.ts';
import { BadUserInputError, invalidParameter, NotFoundError, optionalInRange } from '../errors.ts';
import { deserializeWordMap } from '../pipeline/index/bow.ts';
import type { InvertedFile } from '../pipeline/index/inverted-index.ts';
import { decodeImage } from '../pipeline/decode/decode.ts';
import { rerankFast, rerankPaper } from '../pipeline/rerank/rerank.ts';
import type { Point } from '../pipeline/rerank/geometry.ts';
import { markNoData } from '../pipeline/decode/nodata.ts';
import type { GreyImage, PlanarImage, QueryResult, Region } from '../pipeline/types.ts';
import { verify } from '../pipeline/rerank/verify.ts';
import {
  type CorrelateOptions,
  type CorrelatedMatch,
  correlationPoses,
  MAX_REFINE,
  POSE_BOUNDS,
  type QuerySignal,
  refinementOptions,
} from '../pipeline/rerank/correlate.ts';
import type { CorrelationPool } from '../pipeline/rerank/correlate-pool.ts';
import type { ComirManifest } from '../pipeline/comir/comir.ts';
import type { ImageHit } from '../pipeline/index/embedding.ts';
import type { EmbeddingService } from './embedding.service.ts';
import { footprint, regionTransform } from './link.service.ts';
import { dataMask, validateNoDataValue } from './no-data.ts';
import type { IndexCache } from './index-cache.ts';
import type { ModalityWithModel, RepresentationService } from './representation.service.ts';
import { representationSpace } from './representation.service.ts';
import { type Encoded, type LoadedVocabulary, VocabularyService } from './vocabulary.service.ts';

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
  rerank?: { mode?: RerankMode | null; topK?: number | null; maxRotation?: number | null; scaleTolerance?: number | null; structureWeight?: number | null; refine?: number | null } | null;
}

export interface SearchMatch {
  imageId: number;
  rank: number;
  score: number;
  nWords: number;
  region: Region | null;
  /** Where the query's corners lie in the match (verify mode: rotated; fast/paper: the window). */
  footprint: Point[] | null;
  /** Query pixel -> match pixel, 2x3 row-major, when the re-ranking estimated one. */
  transform: number[] | null;
}

export interface SearchTimings {
  decode: number;
  representation: number;
  features: number;
  firstStage: number;
  rerank: number;
  total: number;
}

export interface SearchResult {
  matches: SearchMatch[];
  timings: SearchTimings;
  /** The vocabulary of a bag-of-words first stage (PAPER, FAST, VERIFY); null for the vector first stage. */
  vocabularyId: number | null;
  /** The first stage that ran: pgvector windows of the representation (docs/adr/0011) or the paper's bag of words. */
  firstStage: FirstStage;
  query: { width: number; height: number };
  /** The re-ranking that ran ('auto' resolved). */
  rerank: Exclude<RerankMode, 'auto'>;
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
 * for the word-based modes. CORRELATE re-ranks up to 200 by default (every image of a repository that small), because
 * across modalities the word-based first stage is near chance and re-ranking its top 30 cannot find what it missed:
 * docs/adr/0004 (vis-nir, 160 images, one scale): Acc@1 8.3-16.7 % with the top 30 against 41.7-58.3 % with all 160;
 * its cost grows linearly (there ~40 ms per candidate for a whole 1024 x 680 query, ~75 ms for a crop, docs/adr/0004).
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

/** CORRELATE's settings: the request's, else the target's model pair's (manifest `search`), else the defaults. */
export function correlationSettings(
  request: { maxRotation: number | null; scaleTolerance: number | null; structureWeight: number | null; refine: number | null },
  target: ModalityWithModel,
): CorrelationSettings {
  const declared = (target.comirModel?.manifest as { search?: ComirManifest['search'] } | null | undefined)?.search;
  return {
    maxRotation: request.maxRotation ?? declared?.max_rotation ?? POSE_DEFAULTS.maxRotation,
    scaleTolerance: request.scaleTolerance ?? declared?.scale_tolerance ?? POSE_DEFAULTS.scaleTolerance,
    structureWeight: request.structureWeight ?? declared?.structure_weight ?? DEFAULT_STRUCTURE_WEIGHT,
    refine: request.refine ?? declared?.refine ?? DEFAULT_REFINE,
  };
}

export interface CorrelationSettings {
  maxRotation: number;
  scaleTolerance: number;
  /** 0..1: the score is (1 - w) x the CoMIR's NCC + w x the structure's. */
  structureWeight: number;
  /** How many of the best candidates are correlated again at twice the resolution (0 = none; refinementOptions). */
  refine: number;
}

/** The number of candidates a mode re-ranks when the request does not say. */
export function defaultTopK(mode: Exclude<RerankMode, 'auto'>): number {
  return mode === 'correlate' ? SEARCH_LIMITS.defaultCorrelateTopK : SEARCH_LIMITS.defaultTopK;
}

/** A validated search plan (sharp's habit: check everything, then execute once). */
interface SearchPlan {
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
}

function plan(input: SearchInput): SearchPlan {
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
  return { first, mode, topK, maxRotation, scaleTolerance, structureWeight, refine, noDataValue };
}

/**
 * Search (stages II and III): the query is brought into the target's representation space, encoded with the
 * target's active vocabulary, ranked by the in-memory inverted file (reference tf-idf scoring), and the top-K are
 * re-ranked by query-sized windows, which also says where the query lies.
 */
export class SearchService {
  constructor(
    private readonly config: Config,
    private readonly files: FileStore,
    private readonly images: ImageRepository,
    private readonly vectors: VectorRepository,
    private readonly representations: RepresentationService,
    private readonly vocabularies: VocabularyService,
    private readonly embeddings: EmbeddingService,
    private readonly cache: IndexCache,
    private readonly correlation: CorrelationPool,
  ) {}

  private async modality(name: string): Promise<ModalityWithModel> {
    const m = await this.representations.modalityByName(name);
    if (!m) throw new NotFoundError('Modality', name);
    return m;
  }

  async search(input: SearchInput): Promise<SearchResult> {
    const t0 = performance.now();
    const p = plan(input);
    const target = await this.modality(input.target);
    let stored: Image | null = null;
    if (input.imageId != null) {
      stored = await this.images.findById(input.imageId);
      if (!stored) throw new NotFoundError('Image', input.imageId);
    }
    const queryModality = stored
      ? await this.representations.modality(stored.modalityId)
      : await this.modality(input.modality ?? invalidModality());
    if (representationSpace(queryModality) !== representationSpace(target)) {
      throw new BadUserInputError(
        `${queryModality.name} (${representationSpace(queryModality)}) and ${target.name} (${representationSpace(target)}) ` +
          'are not in one representation space: register a CoMIR model pair that maps both',
        { modality: queryModality.name, target: target.name },
      );
    }
    // within one modality VERIFY is the fast choice, but it needs a vocabulary; without one, CORRELATE
    const active = p.mode === 'auto' && queryModality.id === target.id ? await this.vocabularies.active(target) : null;
    const mode = p.mode === 'auto' ? autoRerank(queryModality, target, active !== null) : p.mode;
    const firstStage = firstStageOf(mode);
    const vocab = firstStage === 'words' ? await this.vocabularies.requireActive(target) : null;
    const topK = p.topK ?? defaultTopK(mode);
    const settings = correlationSettings(p, target);

    // 1. the query in the target's representation space (CoMIR, paper stage I)
    const t1 = performance.now();
    const data = stored ? await this.files.read(stored.sha256) : input.data!;
    const { image: pixels, info } = await decodeImage(data, { maxPixels: this.config.maxPixels, page: stored?.page ?? 0 });
    const valid = p.noDataValue == null ? null : dataMask(pixels, p.noDataValue, info.bitDepth, 'query');
    const t2 = performance.now();
    const grey = await this.representations.compute(queryModality, pixels);
    const t3 = performance.now();

    // 2. the first stage: the nearest windows in pgvector, or the paper's bag of words (stage II)
    const want = Math.max(p.first, mode === 'none' ? 0 : topK) + (stored ? 1 : 0);
    let ranked: QueryResult<number>[];
    let words: { query: Encoded; index: InvertedFile<number> } | null = null;
    let t4 = t3;
    if (vocab) {
      const query = this.vocabularies.encode(grey, vocab);
      t4 = performance.now();
      const index = await this.cache.get(vocab.info.id, vocab.info.size);
      ranked = index.query(query.bow, { first: want }).filter((r) => r.entryId !== stored?.id);
      words = { query, index };
    } else {
      const hits = await this.embeddings.rank(valid ? markNoData(grey, valid) : grey, target, settings.maxRotation);
      ranked = hits.filter((h) => h.entryId !== stored?.id).map(asResult);
    }
    const t5 = performance.now();

    // 3. re-ranking of the top K (stage III), which also says where the query lies
    let matches: SearchMatch[];
    if (mode === 'none') {
      matches = ranked.slice(0, p.first).map((r, i) => ({ imageId: r.entryId, rank: i + 1, score: r.score, nWords: r.nWords, region: null, footprint: null, transform: null }));
    } else {
      if (mode === 'correlate') {
        // correlation needs neither shared words nor vectors, so it also sees images the first stage left out, up to
        // topK (docs/adr/0010): a small repository is correlated whole
        ranked = words ? words.index.withUnranked(ranked, topK, stored?.id) : await this.withUnranked(ranked, target, topK, stored?.id);
      } else {
        ranked = ranked.slice(0, topK);
      }
      matches =
        mode === 'fast'
          ? await this.fast(ranked, words!.query, grey, vocab!, words!.index)
          : mode === 'verify'
            ? await this.verify(ranked, grey, vocab!)
            : mode === 'correlate'
              ? await this.correlate(ranked, { comir: grey, pixels, modality: queryModality, valid }, target, settings)
              : await this.paper(ranked, grey, vocab!, target);
      matches = matches.slice(0, p.first);
    }
    const t6 = performance.now();
    return {
      matches,
      vocabularyId: vocab?.info.id ?? null,
      firstStage,
      query: { width: grey.width, height: grey.height },
      rerank: mode,
      timings: { decode: t2 - t1, representation: t3 - t2, features: t4 - t3, firstStage: t5 - t4, rerank: t6 - t5, total: t6 - t0 },
    };
  }

  /** `ranked`, then other images of the target modality (by id) until there are `limit`. */
  private async withUnranked(ranked: QueryResult<number>[], target: ModalityWithModel, limit: number, exclude?: number): Promise<QueryResult<number>[]> {
    const out = ranked.slice(0, limit);
    if (out.length >= limit) return out;
    const seen = new Set(out.map((r) => r.entryId));
    if (exclude !== undefined) seen.add(exclude);
    const rest = await this.images.idsOfModality(target.id, [...seen], limit - out.length);
    return [...out, ...rest.map((id) => ({ entryId: id, score: 0, nWords: 0 }))];
  }

  /** The stored word maps and sizes of the first-stage candidates, in rank order. */
  private async wordMapCandidates(ranked: QueryResult<number>[], vocab: LoadedVocabulary) {
    const ids = ranked.map((r) => r.entryId);
    const [maps, rows] = await Promise.all([this.vectors.wordMaps(vocab.info.id, ids), this.images.findManyByIds(ids)]);
    const sizes = new Map(rows.map((r) => [r.id, r]));
    return ranked.flatMap((r) => {
      const m = maps.get(r.entryId);
      const row = sizes.get(r.entryId);
      return m && row ? [{ entryId: r.entryId, width: row.width, height: row.height, wordMap: deserializeWordMap(m) }] : [];
    });
  }

  private async fast(
    ranked: QueryResult<number>[],
    query: Encoded,
    grey: GreyImage,
    vocab: LoadedVocabulary,
    index: InvertedFile<number>,
  ): Promise<SearchMatch[]> {
    const candidates = await this.wordMapCandidates(ranked, vocab);
    const results = rerankFast(query.bow, grey, candidates, index.statistics());
    return results.map((r, i) => windowMatch(r, i, grey));
  }

  /** Spatial verification (pipeline/rerank/verify.ts): rotation sweep + Hough voting on the candidates' word maps. */
  private async verify(ranked: QueryResult<number>[], grey: GreyImage, vocab: LoadedVocabulary): Promise<SearchMatch[]> {
    const candidates = await this.wordMapCandidates(ranked, vocab);
    const grid = VocabularyService.gridOptions(vocab.params);
    return verify(grey, (d) => vocab.quantizer.quantize(d), candidates, vocab.info.size, { grid }).map((r, i) => ({
      imageId: r.entryId,
      rank: i + 1,
      score: r.score,
      nWords: r.nWords,
      region: r.region,
      footprint: r.footprint,
      transform: [...r.transform],
    }));
  }

  /** The candidates' image rows in rank order (an image deleted since the first stage is skipped). */
  private async candidateRows(ranked: QueryResult<number>[]): Promise<Image[]> {
    const rows = new Map((await this.images.findManyByIds(ranked.map((r) => r.entryId))).map((r) => [r.id, r]));
    return ranked.flatMap((r) => rows.get(r.entryId) ?? []);
  }

  /**
   * Dense correlation (pipeline/rerank/correlate.ts) of the query with each candidate's representation and, with a structure
   * weight, also of their structure (pipeline/rerank/structure.ts): one session on the worker threads, scored at the pose
   * where the weighted sum of their NCCs peaks (correlateJoint). Then the best `settings.refine` again at twice the
   * resolution (refinementOptions), near the pose each was found at, re-ordered by that (their scores are the finer ones).
   */
  private async correlate(
    ranked: QueryResult<number>[],
    query: { comir: GreyImage; pixels: PlanarImage; modality: ModalityWithModel; valid: Uint8Array | null },
    target: ModalityWithModel,
    settings: CorrelationSettings,
  ): Promise<SearchMatch[]> {
    const rows = await this.candidateRows(ranked);
    const w = settings.structureWeight;
    const opts = { largestCandidate: Math.max(0, ...rows.map((r) => Math.max(r.width, r.height))), ...correlationPoses(settings.maxRotation, settings.scaleTolerance) };
    const masked = (img: GreyImage) => (query.valid ? markNoData(img, query.valid) : img);
    const signals: QuerySignal[] = [];
    if (w < 1) signals.push({ image: masked(query.comir), signal: 'value', weight: 1 - w });
    if (w > 0) signals.push({ image: masked(this.representations.grey(query.modality, query.pixels)), signal: 'gradient', weight: w });
    let matches = (await this.correlateSession(rows, signals, opts, target)).sort((x, y) => y.score - x.score);

    const refine = Math.min(settings.refine, matches.length);
    const fine = refine > 1 ? refinementOptions(query.comir, opts) : null;
    if (fine) {
      const byId = new Map(rows.map((r) => [r.id, r]));
      const top = matches.slice(0, refine);
      const refined = await this.correlateSession(top.map((m) => byId.get(m.entryId)!), signals, fine, target, top);
      matches = [...refined.sort((x, y) => y.score - x.score), ...matches.slice(refine)];
    }
    return matches.map((m, i) => ({
      imageId: m.entryId,
      rank: i + 1,
      score: m.score,
      nWords: 0,
      region: m.region,
      footprint: m.footprint,
      transform: [...m.transform],
    }));
  }

  /** One correlation session over `rows` (in that order), each near the pose of `near[i]` when given. */
  private async correlateSession(
    rows: Image[],
    signals: QuerySignal[],
    opts: CorrelateOptions,
    target: ModalityWithModel,
    near?: readonly { angle: number; scale: number }[],
  ): Promise<CorrelatedMatch<number>[]> {
    const session = this.correlation.session(signals, opts);
    // candidates are loaded here while worker threads correlate the ones already handed out
    try {
      for (const [i, row] of rows.entries()) {
        // every signal's image at once (sharp decodes off the main thread)
        const images = await Promise.all(
          signals.map((s) => (s.signal === 'value' ? this.representations.reduced(row, target, session.factor) : this.representations.structure(row, target, session.factor))),
        );
        const pose = near?.[i];
        session.add({ entryId: row.id, width: row.width, height: row.height, images, ...(pose ? { near: { angle: pose.angle, scale: pose.scale } } : {}) });
      }
    } catch (e) {
      // the workers drop the query once they are done with what they hold
      void session.finish();
      throw e;
    }
    return session.finish();
  }

  private async paper(ranked: QueryResult<number>[], grey: GreyImage, vocab: LoadedVocabulary, target: ModalityWithModel): Promise<SearchMatch[]> {
    const candidates = [];
    for (const row of await this.candidateRows(ranked)) {
      candidates.push({ entryId: row.id, image: await this.representations.ofImage(row, target) });
    }
    const results = await rerankPaper(grey, candidates, { grid: VocabularyService.gridOptions(vocab.params), seed: vocab.params.seed });
    return results.map((r, i) => windowMatch(r, i, grey));
  }
}

/** A window match (fast or paper re-ranking): axis-aligned, so its transform is a scale + translation. */
function windowMatch(r: { entryId: number; score: number; nWords: number; region: Region }, i: number, query: { width: number; height: number }): SearchMatch {
  const transform = regionTransform(r.region, query.width, query.height);
  return {
    imageId: r.entryId,
    rank: i + 1,
    score: r.score,
    nWords: r.nWords,
    region: r.region,
    footprint: footprint(transform, query.width, query.height),
    transform,
  };
}

/** A first-stage image hit as a ranked result (the window is not needed past the first stage yet). */
function asResult(h: ImageHit<number>): QueryResult<number> {
  return { entryId: h.entryId, score: h.score, nWords: 0 };
}

function invalidModality(): never {
  throw new BadUserInputError('give the modality of an uploaded query');
}
