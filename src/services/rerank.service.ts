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
  correlationFactor,
  correlationPoses,
  cropGrey,
  localPart,
  MAX_CANDIDATE_WORKING_SIZE,
  type QuerySignal,
  refinementOptions,
  wholeLimit,
  workingImage,
} from '../pipeline/rerank/correlate.ts';
import type { CorrelationPool } from '../pipeline/rerank/correlate-pool.ts';
import type { Point } from '../pipeline/rerank/geometry.ts';
import { rerankFast, rerankPaper } from '../pipeline/rerank/rerank.ts';
import { verify } from '../pipeline/rerank/verify.ts';
import type { GreyImage, PlanarImage, QueryResult, Region } from '../pipeline/types.ts';
import { footprint, regionTransform } from './link.service.ts';
import type { ModalityWithModel, RepresentationService } from './representation.service.ts';
import type { CorrelationSettings } from './search-settings.ts';
import { isWholeSlide, type WholeSlideService } from './wsi.service.ts';
import { type Encoded, type LoadedVocabulary, VocabularyService } from './vocabulary.service.ts';

/**
 * A first-stage candidate: its score and, from the vector first stage, the window where the query was found (and, for
 * a whole-slide image, the best few distinct places).
 */
export type Candidate = QueryResult<number> & { readonly window?: Region; readonly places?: readonly Region[] };

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

/**
 * A candidate row and, when it is too large to correlate whole, the point around which it is correlated. A whole-slide
 * image is always correlated locally, in its working pixels (`slide`), from its stored tiles' CoMIR.
 */
interface Placed {
  row: Image;
  centre: Point | null;
  slide?: { width: number; height: number; scale: number };
  /** The part's largest side at the working scale, when not MAX_CANDIDATE_WORKING_SIZE (a slide's coarse pass). */
  partSize?: number;
}

/**
 * A whole-slide image's coarse pass correlates, around each first-stage place, a part of the slide as large as a
 * 512 x 512 FFT holds beside the query's rotated views (coarsePartSize): at a whole core's factor 8 that spans a
 * 12,600 x 9,200 TMA slide at 0.5 um/px. Places inside an earlier one's part are dropped. The first stage finds the right
 * slide more often than the right place on it (bench/results/slides.md: with 3 parts of 128 it placed 6 of 13 whole
 * cores, with parts of 512 10), so the slide's correlation, not its windows, decides where the query lies.
 */
export const SLIDE_FFT = 512;

/**
 * The coarsest working scale slides are first searched at is no finer than this factor: a 30 % crop (154 px) at 1/4,
 * as a crop is correlated against a whole 512 px core (bench/results/shg-bf-quick.md), so that its parts span 1,792
 * working pixels instead of 512 at the crop's own factor 2.
 */
export const SLIDE_MIN_FACTOR = 4;

/** The coarse part's side (working-scale pixels): what a SLIDE_FFT transform holds beside the query's rotated views. */
export function coarsePartSize(factor: number, querySide: number): number {
  return Math.max(MAX_CANDIDATE_WORKING_SIZE, SLIDE_FFT - Math.ceil((Math.SQRT2 * querySide) / factor));
}

export class RerankService {
  constructor(
    private readonly images: ImageRepository,
    private readonly vectors: VectorRepository,
    private readonly representations: RepresentationService,
    private readonly correlation: CorrelationPool,
    private readonly wsi: WholeSlideService,
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
    const all = await this.candidateRows(ranked);
    const byImage = new Map(ranked.map((r) => [r.entryId, r]));
    const longer = (r: Image) => Math.max(r.width, r.height);
    const limit = wholeLimit(all.filter((r) => !isWholeSlide(r)).map(longer));
    const whole = all.filter((r) => !isWholeSlide(r) && longer(r) <= limit).map(longer);
    // slides are searched no finer than SLIDE_MIN_FACTOR at first (a 30 % crop at 1/4, as against a whole core)
    const slides = all.some(isWholeSlide) ? [SLIDE_MIN_FACTOR * MAX_CANDIDATE_WORKING_SIZE] : [];
    const opts = { largestCandidate: Math.max(0, ...whole, ...slides), ...correlationPoses(settings.maxRotation, settings.scaleTolerance) };
    const factor = correlationFactor(query.comir, undefined, opts.largestCandidate);
    const placed: Placed[] = all.flatMap((row): Placed[] => {
      const c = byImage.get(row.id);
      const w = c?.window;
      if (isWholeSlide(row)) {
        // a slide is correlated around each place the first stage found on it (full-resolution pixels), in working pixels
        if (row.tilingState === 'FAILED') return [];
        const slide = this.wsi.workingSize(row, target);
        // one the first stage did not place is searched around its centre (a TMA slide fits one coarse part)
        const places = c?.places ?? (w ? [w] : [{ x: row.width / 2, y: row.height / 2, width: 0, height: 0 }]);
        const partSize = coarsePartSize(factor, Math.max(query.comir.width, query.comir.height));
        return slidePlaces(slide, places, factor, partSize).map((centre) => ({ row, centre, slide, partSize }));
      }
      if (longer(row) <= limit) return [{ row, centre: null }];
      return w ? [{ row, centre: [w.x + w.width / 2, w.y + w.height / 2] as Point }] : [];
    });

    const w = settings.structureWeight;
    const masked = (img: GreyImage) => (query.valid ? markNoData(img, query.valid) : img);
    const signals: QuerySignal[] = [];
    if (w < 1) signals.push({ image: masked(query.comir), signal: 'value', weight: 1 - w });
    if (w > 0) signals.push({ image: masked(this.representations.grey(query.modality, query.pixels)), signal: 'gradient', weight: w });
    // sessions key their matches by the index into `placed` (a slide has several places)
    const fine = settings.refine > 1 ? refinementOptions(query.comir, opts) : null;
    const refined = new Map<number, CorrelatedMatch<number>>();
    const refinePart = fine ? refinePartSize(query.comir, fine) : 0;
    // the best `n` of `sorted` again at twice the resolution, near the pose each was found at (each once)
    const refineTop = async (sorted: readonly CorrelatedMatch<number>[], n: number): Promise<CorrelatedMatch<number>[]> => {
      const todo = sorted.slice(0, n).filter((m) => !refined.has(m.entryId));
      // a part is taken again around the coarse match: of a slide or a large image as large as before; of any other,
      // one twice the query's size (refinePartSize), not the whole candidate
      const again = todo.map((m): Placed => {
        const p = placed[m.entryId];
        return p.slide || p.centre ? { ...p, centre: centreOf(m.region), partSize: undefined } : { ...p, centre: centreOf(m.region), partSize: refinePart };
      });
      for (const m of await this.correlateSession(again, signals, fine!, target, todo)) refined.set(todo[m.entryId].entryId, { ...m, entryId: todo[m.entryId].entryId });
      return byScore(sorted.slice(0, n).map((m) => refined.get(m.entryId)!));
    };

    // The cascade (docs/adr/0016): the first stage's best few first, the best of them refined; when one leads the
    // others by what a client would take without review (the calibrated confidence threshold), the rest is skipped
    const cascade = fine ? settings.cascade : null;
    const head = cascade ? headLength(placed, cascade.head) : placed.length;
    let coarse = await this.correlateSession(placed.slice(0, head), signals, opts, target);
    let stopped = false;
    if (cascade && head < placed.length) {
      stopped = leadOf(await refineTop(bestPerImage(byScore(coarse), placed), Math.min(cascade.refine, settings.refine))) >= cascade.stopLead;
      if (!stopped) coarse = [...coarse, ...(await this.correlateSession(placed.slice(head), signals, opts, target)).map((m) => ({ ...m, entryId: m.entryId + head }))];
    }
    let matches = bestPerImage(byScore(coarse), placed);
    const refine = stopped ? Math.min(cascade!.refine, settings.refine) : Math.min(settings.refine, matches.length);
    if (fine && refine > 1) matches = [...(await refineTop(matches, refine)), ...matches.slice(refine)];
    return matches.map((m) => {
      const { row, slide } = placed[m.entryId];
      const match = { imageId: row.id, score: m.score, nWords: 0, region: m.region, footprint: m.footprint, transform: [...m.transform] };
      // a slide's match is found in working pixels; it is reported in full-resolution slide pixels
      return !slide || slide.scale === 1 ? match : scaleMatch(match, 1 / slide.scale);
    });
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
      for (const [i, { row, centre, slide, partSize }] of placed.entries()) {
        const pose = near?.[i];
        if (slide && centre) {
          // the slide's CoMIR (and pixels, for structure) around the place, from its tiles, at the working scale
          const part = localPart(slide, centre, f, partSize ?? opts.maxCandidateSize ?? MAX_CANDIDATE_WORKING_SIZE);
          const region = { x: part.x * f, y: part.y * f, width: part.width * f, height: part.height * f };
          const images = await Promise.all(
            signals.map(async (s) =>
              s.signal === 'value'
                ? await this.wsi.regionAt(row, target, part, f)
                : workingImage(this.representations.grey(target, await this.wsi.pixels(row, target, region)), f, 'gradient'),
            ),
          );
          session.add({ entryId: i, width: slide.width, height: slide.height, images, offset: { x: region.x, y: region.y }, ...(pose ? { near: { angle: pose.angle, scale: pose.scale } } : {}) });
          continue;
        }
        // every signal's image at once (sharp decodes off the main thread)
        let images = await Promise.all(
          signals.map((s) => (s.signal === 'value' ? this.representations.reduced(row, target, f) : this.representations.structure(row, target, f))),
        );
        let offset: { x: number; y: number } | undefined;
        if (centre) {
          const part = localPart(row, centre, f, partSize ?? opts.maxCandidateSize ?? MAX_CANDIDATE_WORKING_SIZE);
          images = images.map((img) => cropGrey(img, part));
          offset = { x: part.x * f, y: part.y * f };
        }
        session.add({ entryId: i, width: row.width, height: row.height, images, ...(pose ? { near: { angle: pose.angle, scale: pose.scale } } : {}), ...(offset ? { offset } : {}) });
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

/**
 * The centres (working pixels) of a slide's coarse parts: its first-stage places (full-resolution windows) in order,
 * leaving out those that an earlier part already covers.
 */
function slidePlaces(slide: { width: number; height: number; scale: number }, places: readonly Region[], factor: number, partSize: number): Point[] {
  const parts: Region[] = [];
  const out: Point[] = [];
  for (const p of places) {
    const c: Point = [(p.x + p.width / 2) * slide.scale, (p.y + p.height / 2) * slide.scale];
    const inside = (r: Region) => c[0] >= r.x * factor && c[0] < (r.x + r.width) * factor && c[1] >= r.y * factor && c[1] < (r.y + r.height) * factor;
    if (parts.some(inside)) continue;
    parts.push(localPart(slide, c, factor, partSize));
    out.push(c);
  }
  return out;
}

/**
 * The side (working px) of the part of a candidate a refinement correlates around its coarse match: twice the query's
 * longer side at the refinement's scale, so the coarse match may be off by half the query's size, and no less than
 * MAX_CANDIDATE_WORKING_SIZE. A query as large as the candidate (a whole image) still sees all of it; a 30 % crop of
 * a 1024 px photograph (77 px at 1/4) sees 154 px instead of 256, in 256 x 256 FFTs instead of 512 x 512 (docs/adr/0016).
 */
export function refinePartSize(query: { width: number; height: number }, fine: CorrelateOptions): number {
  const f = correlationFactor(query, fine.workingSize, fine.largestCandidate, fine.maxCandidateSize);
  return Math.max(MAX_CANDIDATE_WORKING_SIZE, Math.ceil((2 * Math.max(query.width, query.height)) / f));
}

/** The length of `placed`'s prefix that holds its first `images` images (a slide has several places in a row). */
function headLength(placed: readonly Placed[], images: number): number {
  const seen = new Set<number>();
  for (let i = 0; i < placed.length; i++) {
    if (!seen.has(placed[i].row.id) && seen.size === images) return i;
    seen.add(placed[i].row.id);
  }
  return placed.length;
}

function byScore<M extends { score: number }>(l: M[]): M[] {
  return l.sort((x, y) => y.score - x.score);
}

/** The best score's lead over the next (one image alone: no lead). */
function leadOf(sorted: readonly { score: number }[]): number {
  return sorted.length > 1 ? sorted[0].score - sorted[1].score : -Infinity;
}

/** The best match of each image (a slide correlated at several places keeps its best); `placed` maps keys to images. */
function bestPerImage<M extends { entryId: number; score: number }>(sorted: readonly M[], placed: readonly Placed[]): M[] {
  const seen = new Set<number>();
  return sorted.filter((m) => {
    const id = placed[m.entryId].row.id;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** A match's region, footprint and transform with every target coordinate multiplied by `k`. */
function scaleMatch(m: RerankedMatch, k: number): RerankedMatch {
  return {
    ...m,
    region: m.region && { x: m.region.x * k, y: m.region.y * k, width: m.region.width * k, height: m.region.height * k },
    footprint: m.footprint && m.footprint.map(([x, y]) => [x * k, y * k] as Point),
    transform: m.transform && m.transform.map((v) => v * k),
  };
}

function centreOf(r: Region): Point {
  return [r.x + r.width / 2, r.y + r.height / 2];
}

/** A window match (fast or paper re-ranking): axis-aligned, so its transform is a scale + translation. */
function windowMatch(r: { entryId: number; score: number; nWords: number; region: Region }, query: { width: number; height: number }): RerankedMatch {
  const transform = regionTransform(r.region, query.width, query.height);
  return { imageId: r.entryId, score: r.score, nWords: r.nWords, region: r.region, footprint: footprint(transform, query.width, query.height), transform };
}
