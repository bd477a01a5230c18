/**
 * Stage III: re-ranking of the first stage's candidates, which also says where the query lies in each. Across the
 * modalities of a CoMIR pair by dense correlation of the representations (pipeline/rerank/correlate.ts), within one
 * modality on the stored word maps (verify, fast), or as the paper does (paper).
 */
import type { Image } from '../db/generated/client.ts';
import type { ImageRepository } from '../db/image.repository.ts';
import type { VectorRepository } from '../db/vector.repository.ts';
import { deserializeWordMap } from '../pipeline/index/bow.ts';
import type { InvertedFile } from '../pipeline/index/inverted-index.ts';
import { markNoData } from '../pipeline/decode/nodata.ts';
import {
  type CorrelateOptions,
  type CorrelatedMatch,
  correlationPoses,
  cropGrey,
  localPart,
  MAX_CANDIDATE_WORKING_SIZE,
  type QuerySignal,
  refinementOptions,
  wholeLimit,
} from '../pipeline/rerank/correlate.ts';
import type { CorrelationPool } from '../pipeline/rerank/correlate-pool.ts';
import type { Point } from '../pipeline/rerank/geometry.ts';
import { rerankFast, rerankPaper } from '../pipeline/rerank/rerank.ts';
import { verify } from '../pipeline/rerank/verify.ts';
import type { GreyImage, PlanarImage, QueryResult, Region } from '../pipeline/types.ts';
import { footprint, regionTransform } from './link.service.ts';
import type { ModalityWithModel, RepresentationService } from './representation.service.ts';
import type { CorrelationSettings } from './search-settings.ts';
import { type Encoded, type LoadedVocabulary, VocabularyService } from './vocabulary.service.ts';

/** A first-stage candidate: its score and, from the vector first stage, the window where the query was found. */
export type Candidate = QueryResult<number> & { readonly window?: Region };

/** One re-ranked match: the score of its re-ranking and where the query lies in it. */
export interface RerankedMatch {
  imageId: number;
  score: number;
  nWords: number;
  region: Region | null;
  /** Where the query's corners lie in the match (verify mode: rotated; fast/paper: the window). */
  footprint: Point[] | null;
  /** Query pixel -> match pixel, 2x3 row-major, when the re-ranking estimated one. */
  transform: number[] | null;
}

/** The query as CORRELATE needs it: its representation, its pixels (for structure), and its no-data mask. */
export interface CorrelationInput {
  comir: GreyImage;
  pixels: PlanarImage;
  modality: ModalityWithModel;
  valid: Uint8Array | null;
}

/** A candidate row and, when it is too large to correlate whole, the point around which it is correlated. */
interface Placed {
  row: Image;
  centre: Point | null;
}

export class RerankService {
  constructor(
    private readonly images: ImageRepository,
    private readonly vectors: VectorRepository,
    private readonly representations: RepresentationService,
    private readonly correlation: CorrelationPool,
  ) {}

  /**
   * Dense correlation (pipeline/rerank/correlate.ts) of the query with each candidate's representation and, with a
   * structure weight, also of their structure (pipeline/rerank/structure.ts): one session on the worker threads, scored
   * at the pose where the weighted sum of their NCCs peaks (correlateJoint). Then the best `settings.refine` again at
   * twice the resolution (refinementOptions), near the pose each was found at, re-ordered by that.
   *
   * The working scale is set by the candidates correlated whole; one much larger than the rest (wholeLimit) is
   * correlated only around the first stage's window (localPart), so a slide among cores leaves the cores' search as it
   * was. Such a candidate that the first stage did not place is not re-ranked.
   */
  async correlate(ranked: readonly Candidate[], query: CorrelationInput, target: ModalityWithModel, settings: CorrelationSettings): Promise<RerankedMatch[]> {
    const rows = await this.candidateRows(ranked);
    const windows = new Map(ranked.flatMap((r) => (r.window ? [[r.entryId, r.window] as const] : [])));
    const longer = (r: Image) => Math.max(r.width, r.height);
    const limit = wholeLimit(rows.map(longer));
    const placed: Placed[] = rows.flatMap((row): Placed[] => {
      if (longer(row) <= limit) return [{ row, centre: null }];
      const w = windows.get(row.id);
      return w ? [{ row, centre: [w.x + w.width / 2, w.y + w.height / 2] as Point }] : [];
    });
    const whole = placed.filter((p) => p.centre === null).map((p) => longer(p.row));
    const opts = { largestCandidate: Math.max(0, ...whole), ...correlationPoses(settings.maxRotation, settings.scaleTolerance) };
    const w = settings.structureWeight;
    const masked = (img: GreyImage) => (query.valid ? markNoData(img, query.valid) : img);
    const signals: QuerySignal[] = [];
    if (w < 1) signals.push({ image: masked(query.comir), signal: 'value', weight: 1 - w });
    if (w > 0) signals.push({ image: masked(this.representations.grey(query.modality, query.pixels)), signal: 'gradient', weight: w });
    let matches = (await this.correlateSession(placed, signals, opts, target)).sort((x, y) => y.score - x.score);

    const refine = Math.min(settings.refine, matches.length);
    const fine = refine > 1 ? refinementOptions(query.comir, opts) : null;
    if (fine) {
      const byId = new Map(placed.map((p) => [p.row.id, p]));
      const top = matches.slice(0, refine);
      // a part is taken again around the coarse match
      const again = top.map((m) => {
        const { row, centre } = byId.get(m.entryId)!;
        return { row, centre: centre && centreOf(m.region) };
      });
      const refined = await this.correlateSession(again, signals, fine, target, top);
      matches = [...refined.sort((x, y) => y.score - x.score), ...matches.slice(refine)];
    }
    return matches.map((m) => ({ imageId: m.entryId, score: m.score, nWords: 0, region: m.region, footprint: m.footprint, transform: [...m.transform] }));
  }

  /** One correlation session over `placed` (in that order), each near the pose of `near[i]` when given. */
  private async correlateSession(
    placed: readonly Placed[],
    signals: QuerySignal[],
    opts: CorrelateOptions,
    target: ModalityWithModel,
    near?: readonly { angle: number; scale: number }[],
  ): Promise<CorrelatedMatch<number>[]> {
    const session = this.correlation.session(signals, opts);
    const f = session.factor;
    // candidates are loaded here while worker threads correlate the ones already handed out
    try {
      for (const [i, { row, centre }] of placed.entries()) {
        // every signal's image at once (sharp decodes off the main thread)
        let images = await Promise.all(
          signals.map((s) => (s.signal === 'value' ? this.representations.reduced(row, target, f) : this.representations.structure(row, target, f))),
        );
        let offset: { x: number; y: number } | undefined;
        if (centre) {
          const part = localPart(row, centre, f, opts.maxCandidateSize ?? MAX_CANDIDATE_WORKING_SIZE);
          images = images.map((img) => cropGrey(img, part));
          offset = { x: part.x * f, y: part.y * f };
        }
        const pose = near?.[i];
        session.add({ entryId: row.id, width: row.width, height: row.height, images, ...(pose ? { near: { angle: pose.angle, scale: pose.scale } } : {}), ...(offset ? { offset } : {}) });
      }
    } catch (e) {
      // the workers drop the query once they are done with what they hold
      void session.finish();
      throw e;
    }
    return session.finish();
  }

  /** Spatial verification (pipeline/rerank/verify.ts): rotation sweep + Hough voting on the candidates' word maps. */
  async verify(ranked: readonly Candidate[], grey: GreyImage, vocab: LoadedVocabulary): Promise<RerankedMatch[]> {
    const candidates = await this.wordMapCandidates(ranked, vocab);
    const grid = VocabularyService.gridOptions(vocab.params);
    return verify(grey, (d) => vocab.quantizer.quantize(d), candidates, vocab.info.size, { grid }).map((r) => ({
      imageId: r.entryId,
      score: r.score,
      nWords: r.nWords,
      region: r.region,
      footprint: r.footprint,
      transform: [...r.transform],
    }));
  }

  /** Query-sized windows scored on the stored word maps (pipeline/rerank/rerank.ts). */
  async fast(ranked: readonly Candidate[], query: Encoded, grey: GreyImage, vocab: LoadedVocabulary, index: InvertedFile<number>): Promise<RerankedMatch[]> {
    const candidates = await this.wordMapCandidates(ranked, vocab);
    return rerankFast(query.bow, grey, candidates, index.statistics()).map((r) => windowMatch(r, grey));
  }

  /** The paper's re-ranking (reference 1.4a): a vocabulary of the candidates' own patches, windows scored with it. */
  async paper(ranked: readonly Candidate[], grey: GreyImage, vocab: LoadedVocabulary, target: ModalityWithModel): Promise<RerankedMatch[]> {
    const candidates = [];
    for (const row of await this.candidateRows(ranked)) {
      candidates.push({ entryId: row.id, image: await this.representations.ofImage(row, target) });
    }
    const results = await rerankPaper(grey, candidates, { grid: VocabularyService.gridOptions(vocab.params), seed: vocab.params.seed });
    return results.map((r) => windowMatch(r, grey));
  }

  /** The candidates' image rows in rank order (an image deleted since the first stage is skipped). */
  private async candidateRows(ranked: readonly Candidate[]): Promise<Image[]> {
    const rows = new Map((await this.images.findManyByIds(ranked.map((r) => r.entryId))).map((r) => [r.id, r]));
    return ranked.flatMap((r) => rows.get(r.entryId) ?? []);
  }

  /** The stored word maps and sizes of the first-stage candidates, in rank order. */
  private async wordMapCandidates(ranked: readonly Candidate[], vocab: LoadedVocabulary) {
    const ids = ranked.map((r) => r.entryId);
    const [maps, rows] = await Promise.all([this.vectors.wordMaps(vocab.info.id, ids), this.images.findManyByIds(ids)]);
    const sizes = new Map(rows.map((r) => [r.id, r]));
    return ranked.flatMap((r) => {
      const m = maps.get(r.entryId);
      const row = sizes.get(r.entryId);
      return m && row ? [{ entryId: r.entryId, width: row.width, height: row.height, wordMap: deserializeWordMap(m) }] : [];
    });
  }
}

function centreOf(r: Region): Point {
  return [r.x + r.width / 2, r.y + r.height / 2];
}

/** A window match (fast or paper re-ranking): axis-aligned, so its transform is a scale + translation. */
function windowMatch(r: { entryId: number; score: number; nWords: number; region: Region }, query: { width: number; height: number }): RerankedMatch {
  const transform = regionTransform(r.region, query.width, query.height);
  return { imageId: r.entryId, score: r.score, nWords: r.nWords, region: r.region, footprint: footprint(transform, query.width, query.height), transform };
}
