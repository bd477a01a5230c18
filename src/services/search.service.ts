import { performance } from 'node:perf_hooks';
import type { Config } from '../config.ts';
import type { FileStore } from '../db/file-store.ts';
import type { ImageRepository } from '../db/image.repository.ts';
import { BadUserInputError, NotFoundError, PayloadTooLargeError } from '../errors.ts';
import { decodeImage, resizePlanar } from '../pipeline/decode/decode.ts';
import { type Affine, composeAffine } from '../pipeline/rerank/geometry.ts';
import { workingMicronsPerPixel } from './pixel-size.ts';
import { markNoData } from '../pipeline/decode/nodata.ts';
import type { InvertedFile } from '../pipeline/index/inverted-index.ts';
import { confidences } from '../pipeline/rerank/confidence.ts';
import { EmbeddingService } from './embedding.service.ts';
import type { IndexCache } from './index-cache.ts';
import { requireData } from './no-data.ts';
import type { Candidate, RerankedMatch, RerankService } from './rerank.service.ts';
import { type ModalityWithModel, type RepresentationService, representationSpace } from './representation.service.ts';
import {
  autoRerank,
  confidenceModel,
  correlationSettings,
  defaultTopK,
  type FirstStage,
  firstStageOf,
  planSearch,
  type RerankMode,
  type SearchInput,
} from './search-settings.ts';
import type { Encoded, VocabularyService } from './vocabulary.service.ts';

export interface SearchMatch extends RerankedMatch {
  rank: number;
  /**
   * How likely this match is the right one (0..1): its score's lead over the best other match, calibrated on the
   * benchmarks (pipeline/rerank/confidence.ts). Take a top-1 without review at or above SearchResult.confidenceThreshold.
   */
  confidence: number;
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
  /** The confidence at or above which a top-1 answer was right >= 98 % of the time on the benchmarks. */
  confidenceThreshold: number;
}

/**
 * Search, top to bottom as the paper's stages: the query in the target's representation space (I: CoMIR), a first
 * stage that ranks the repository (II: pgvector windows of the representation by default, docs/adr/0011, or the paper's
 * bag of words), and the re-ranking of its top K (III), which also says where the query lies.
 */
export class SearchService {
  constructor(
    private readonly config: Config,
    private readonly files: FileStore,
    private readonly images: ImageRepository,
    private readonly representations: RepresentationService,
    private readonly vocabularies: VocabularyService,
    private readonly embeddings: EmbeddingService,
    private readonly cache: IndexCache,
    private readonly reranker: RerankService,
  ) {}

  async search(input: SearchInput): Promise<SearchResult> {
    const t0 = performance.now();
    const p = planSearch(input);
    const target = await this.modality(input.target);
    const stored = input.imageId == null ? null : ((await this.images.findById(input.imageId)) ?? notFound(input.imageId));
    const queryModality = stored ? await this.representations.modality(stored.modalityId) : await this.modality(input.modality ?? invalidModality());
    sameSpace(queryModality, target);
    // within one modality VERIFY is the fast choice, but it needs a vocabulary; without one, CORRELATE
    const active = p.mode === 'auto' && queryModality.id === target.id ? await this.vocabularies.active(target) : null;
    const mode = p.mode === 'auto' ? autoRerank(queryModality, target, active !== null) : p.mode;
    const firstStage = firstStageOf(mode);
    const vocab = firstStage === 'words' ? await this.vocabularies.requireActive(target) : null;
    const topK = p.topK ?? defaultTopK(mode, firstStage === 'vectors' && EmbeddingService.learned(target));
    const settings = correlationSettings(p, target);

    // I. the query in the target's representation space (CoMIR)
    const t1 = performance.now();
    const data = stored ? await this.files.read(stored.sha256) : input.data!;
    const decoded = await decodeImage(data, { maxPixels: this.config.maxPixels, page: stored?.page ?? 0 });
    // a query that says its pixel size is resampled to the model's working resolution (whole-slide tiles are cut at it)
    const queryScale = this.queryScale(p.micronsPerPixel ?? stored?.micronsPerPixel ?? null, target);
    const pixels = queryScale === 1 ? decoded.image : await resizePlanar(decoded.image, ...scaledSize(decoded.image, queryScale, this.config.maxPixels));
    const valid = p.noDataValue == null ? null : requireData(await this.representations.noDataMask(pixels, p.noDataValue, decoded.info.bitDepth), p.noDataValue, 'query');
    const t2 = performance.now();
    const comir = await this.representations.compute(queryModality, pixels);
    const t3 = performance.now();

    // II. the first stage: the nearest windows in pgvector, or the paper's bag of words
    const want = Math.max(p.first, mode === 'none' ? 0 : topK) + (stored ? 1 : 0);
    let ranked: Candidate[];
    let words: { query: Encoded; index: InvertedFile<number> } | null = null;
    let t4 = t3;
    if (vocab) {
      const query = this.vocabularies.encode(comir, vocab);
      t4 = performance.now();
      const index = await this.cache.get(vocab.info.id, vocab.info.size);
      ranked = index.query(query.bow, { first: want }).filter((r) => r.entryId !== stored?.id);
      words = { query, index };
    } else {
      const hits = await this.embeddings.rank(valid ? markNoData(comir, valid) : comir, target, settings.maxRotation);
      ranked = hits.filter((h) => h.entryId !== stored?.id).map((h) => ({ entryId: h.entryId, score: h.score, nWords: 0, window: h.window, places: h.places }));
    }
    const t5 = performance.now();

    // III. re-ranking of the top K, which also says where the query lies
    let reranked: RerankedMatch[];
    if (mode === 'none') {
      reranked = ranked.map((r) => ({ imageId: r.entryId, score: r.score, nWords: r.nWords, region: r.window ?? null, footprint: null, transform: null }));
    } else if (mode === 'correlate') {
      // correlation needs neither shared words nor vectors, so it also sees images the first stage left out, up to
      // topK (docs/adr/0010): a repository smaller than K is correlated whole
      const candidates = words ? words.index.withUnranked(ranked, topK, stored?.id) : await this.withUnranked(ranked, target, topK, stored?.id);
      reranked = await this.reranker.correlate(candidates, { comir, pixels, modality: queryModality, valid }, target, settings);
    } else {
      const candidates = ranked.slice(0, topK);
      reranked =
        mode === 'fast'
          ? await this.reranker.fast(candidates, words!.query, comir, vocab!, words!.index)
          : mode === 'verify'
            ? await this.reranker.verify(candidates, comir, vocab!)
            : await this.reranker.paper(candidates, comir, vocab!, target);
    }
    const t6 = performance.now();

    const model = confidenceModel(target);
    const confidence = confidences(reranked.map((m) => m.score), model);
    // transforms from the resampled query's pixels to the query's own
    const fromQuery = (t: number[] | null): number[] | null => (t && queryScale !== 1 ? [...composeAffine(t as unknown as Affine, [queryScale, 0, 0, 0, queryScale, 0])] : t);
    return {
      matches: reranked.slice(0, p.first).map((m, i) => ({ ...m, transform: fromQuery(m.transform), rank: i + 1, confidence: confidence[i] })),
      vocabularyId: vocab?.info.id ?? null,
      firstStage,
      query: { width: comir.width, height: comir.height },
      rerank: mode,
      confidenceThreshold: model.threshold,
      timings: { decode: t2 - t1, representation: t3 - t2, features: t4 - t3, firstStage: t5 - t4, rerank: t6 - t5, total: t6 - t0 },
    };
  }

  /**
   * Working pixels per query pixel: the query's pixel size over the target model's working resolution, or 1 when
   * either is unknown (then the query is taken at the working resolution, as small images always were).
   */
  private queryScale(queryMicrons: number | null, target: ModalityWithModel): number {
    const working = workingMicronsPerPixel(target);
    if (!working || !queryMicrons) return 1;
    const s = queryMicrons / working;
    // within 1 %: resampling would only blur
    return Math.abs(s - 1) < 0.01 ? 1 : s;
  }

  private async modality(name: string): Promise<ModalityWithModel> {
    return (await this.representations.modalityByName(name)) ?? notFound(name, 'Modality');
  }

  /** `ranked`, then other images of the target modality (by id) until there are `limit`. */
  private async withUnranked(ranked: Candidate[], target: ModalityWithModel, limit: number, exclude?: number): Promise<Candidate[]> {
    const out = ranked.slice(0, limit);
    if (out.length >= limit) return out;
    const seen = new Set(out.map((r) => r.entryId));
    if (exclude !== undefined) seen.add(exclude);
    const rest = await this.images.idsOfModality(target.id, [...seen], limit - out.length);
    return [...out, ...rest.map((id) => ({ entryId: id, score: 0, nWords: 0 }))];
  }
}

/** The query's size at the working resolution: refused when too small to search or larger than the pixel limit. */
function scaledSize(img: { width: number; height: number }, s: number, maxPixels: number): [number, number] {
  const width = Math.max(1, Math.round(img.width * s)), height = Math.max(1, Math.round(img.height * s));
  if (width * height < 16 * 16) throw new BadUserInputError(`at its pixel size the query is ${width}x${height} working pixels: too small to search`);
  if (width * height > maxPixels) {
    throw new PayloadTooLargeError(`at its pixel size the query is ${width}x${height} working pixels, over the limit of ${maxPixels} (CMIR_MAX_PIXELS); check the query's micronsPerPixel`, { width, height, maxPixels, setting: 'CMIR_MAX_PIXELS' });
  }
  return [width, height];
}

function sameSpace(query: ModalityWithModel, target: ModalityWithModel): void {
  if (representationSpace(query) === representationSpace(target)) return;
  throw new BadUserInputError(
    `${query.name} (${representationSpace(query)}) and ${target.name} (${representationSpace(target)}) ` +
      'are not in one representation space: register a CoMIR model pair that maps both',
    { modality: query.name, target: target.name },
  );
}

function notFound(id: number | string, type = 'Image'): never {
  throw new NotFoundError(type, id);
}

function invalidModality(): never {
  throw new BadUserInputError('give the modality of an uploaded query');
}
