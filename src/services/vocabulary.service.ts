import { type Image, Prisma as P } from '../db/generated/client.ts';
import type { Prisma } from '../db/database.ts';
import type { Tx } from '../db/image.repository.ts';
import type { VectorRepository } from '../db/vector.repository.ts';
import type { VocabularyInfo, VocabularyRepository } from '../db/vocabulary.repository.ts';
import { AppError, invalidParameter } from '../errors.ts';
import { serializeWordMap, type WordMap, wordMapBow, wordMapFromFeatures } from '../pipeline/index/bow.ts';
import { mulberry32 } from '../pipeline/index/kdtree.ts';
import { type DenseGridOptions, denseSurf, type FeatureSet, gridCount } from '../pipeline/features/surf.ts';
import type { BowVector, GreyImage } from '../pipeline/types.ts';
import {
  createQuantizer,
  DEFAULT_STRONGEST_FRACTION,
  deserializeVocabulary,
  type Quantizer,
  selectStrongest,
  serializeVocabulary,
} from '../pipeline/index/vocabulary.ts';
import { trainVocabularyOffThread } from '../pipeline/index/vocabulary-thread.ts';
import type { IndexCache } from './index-cache.ts';
import type { JobService } from './job.service.ts';
import type { ModalityService } from './modality.service.ts';
import { type ModalityWithModel, type RepresentationService, representationSpace } from './representation.service.ts';

/** Words per vocabulary by default: the reference's VOC = 20,000 (reference-pipeline.md 1.8, the paper). */
export const DEFAULT_VOCABULARY_SIZE = 20_000;
/**
 * Most descriptors pooled for k-means. Issue 3's target is 20,000 words from 2 M descriptors in <= 5 min; larger
 * repositories are subsampled (seeded) to this many before the strongest 80 % are kept.
 */
export const MAX_TRAINING_DESCRIPTORS = 2_500_000;

/**
 * Largest pool of descriptors (bytes) whose features a build keeps from step 1 for step 3, so that SURF runs once per
 * image instead of twice. Up to this size the kept features add at most ~256 MB to the k-means pool (80 % of them);
 * larger repositories recompute them.
 */
export const REUSED_FEATURES_BYTES = 256 * 2 ** 20;

/** What a vocabulary was built with; stored in its `params` and reused for every image and query it encodes. */
export interface VocabularyParams {
  modality: string;
  representation: string;
  seed: number;
  oriented: boolean;
  strongestFraction: number;
  requestedSize: number;
  trainingDescriptors: number;
  iterations?: number;
  images?: number;
}

/** A vocabulary ready to encode: its row, centroids and search tree. */
export interface LoadedVocabulary {
  info: VocabularyInfo;
  params: VocabularyParams;
  quantizer: Quantizer;
}

/** An image encoded under a vocabulary: its bag of words and its word map. */
export interface Encoded {
  bow: BowVector;
  wordMap: WordMap;
  nFeatures: number;
}

/** What a queued vocabulary build carries (its Job's params). */
interface BuildJobParams {
  modality: string;
  size: number;
  seed: number;
  oriented: boolean;
}

export interface BuildOptions {
  size?: number;
  seed?: number;
  oriented?: boolean;
}

export function vocabularySpace(modality: ModalityWithModel): string {
  return `${modality.name}/${representationSpace(modality)}`;
}

/**
 * Builds, versions and applies visual vocabularies (stage II). A build is a Job: pool dense SURF descriptors of the
 * modality's images in its representation space, keep the strongest 80 %, k-means, then quantise every image into a
 * histogram and a word map. The newest ready vocabulary of a space is the active one.
 */
export class VocabularyService {
  private readonly loaded = new Map<number, Promise<LoadedVocabulary>>();

  constructor(
    private readonly prisma: Prisma,
    private readonly vocabularies: VocabularyRepository,
    private readonly vectors: VectorRepository,
    private readonly representations: RepresentationService,
    private readonly modalities: ModalityService,
    private readonly jobs: JobService,
    private readonly cache: IndexCache,
  ) {
    jobs.handle('vocabulary.build', (params, progress) => this.runBuildJob(params as unknown as BuildJobParams, progress.report));
  }

  list(modality?: string): Promise<VocabularyInfo[]> {
    return this.vocabularies.list(modality ? `${modality}/` : undefined);
  }

  /** The vocabulary searches of this modality use, or null when none was built for its current representation. */
  async active(modality: ModalityWithModel): Promise<LoadedVocabulary | null> {
    const info = await this.vocabularies.latestReady(vocabularySpace(modality));
    return info ? this.load(info) : null;
  }

  async requireActive(modality: ModalityWithModel): Promise<LoadedVocabulary> {
    const v = await this.active(modality);
    if (!v) {
      throw new AppError(
        'INDEX_NOT_READY',
        `modality ${modality.name} has no vocabulary yet: run \`cmir vocabulary build --modality ${modality.name}\``,
        { modality: modality.name },
      );
    }
    return v;
  }

  private load(info: VocabularyInfo): Promise<LoadedVocabulary> {
    let l = this.loaded.get(info.id);
    if (!l) {
      l = this.vocabularies.centroids(info.id).then((bytes) => ({
        info,
        params: info.params as unknown as VocabularyParams,
        quantizer: createQuantizer(deserializeVocabulary(bytes)),
      }));
      this.loaded.set(info.id, l);
      l.catch(() => this.loaded.delete(info.id));
    }
    return l;
  }

  static gridOptions(params: Pick<VocabularyParams, 'oriented'>): DenseGridOptions {
    return { oriented: params.oriented };
  }

  /** Dense features -> words -> bag of words + word map. */
  encode(grey: GreyImage, vocab: LoadedVocabulary): Encoded {
    return this.encodeFeatures(denseSurf(grey, VocabularyService.gridOptions(vocab.params)), vocab);
  }

  /** Words -> bag of words + word map, for features computed on the vocabulary's grid. */
  private encodeFeatures(features: FeatureSet, vocab: LoadedVocabulary): Encoded {
    const words = vocab.quantizer.quantize(features.descriptors);
    const wordMap = wordMapFromFeatures(features, words);
    return { bow: wordMapBow(wordMap, vocab.info.size), wordMap, nFeatures: features.count };
  }

  /** Writes an encoded image's histogram (inside the caller's transaction). */
  store(tx: Tx, vocab: LoadedVocabulary, imageId: number, enc: Encoded): Promise<void> {
    return this.vectors.upsertHistogram(tx, {
      imageId,
      vocabularyId: vocab.info.id,
      bow: enc.bow,
      vocabSize: vocab.info.size,
      nFeatures: enc.nFeatures,
      wordMap: serializeWordMap(enc.wordMap),
      grid: { oriented: vocab.params.oriented },
    });
  }

  /**
   * For ingestion: encodes the new image under the modality's active vocabulary and under any version a build is
   * indexing right now, and returns the writes to run inside the ingest transaction, plus the cache update to run
   * after it commits. (A build lists its images when it starts; what is ingested later is encoded here, and the
   * build's final sweep catches images that committed before their ingestion could see the new version.)
   */
  async prepareIndexing(
    modality: ModalityWithModel,
    grey: () => Promise<GreyImage>,
  ): Promise<{ write(tx: Tx, imageId: number): Promise<void>; committed(imageId: number): Promise<void> } | null> {
    const active = await this.active(modality);
    const building = await this.vocabularies.indexing(vocabularySpace(modality));
    const targets = [...(active ? [active] : []), ...(await Promise.all(building.map((info) => this.load(info))))];
    if (targets.length === 0) return null;
    const image = await grey();
    const encoded = targets.map((vocab) => ({ vocab, enc: this.encode(image, vocab) }));
    return {
      write: async (tx, imageId) => {
        for (const { vocab, enc } of encoded) await this.store(tx, vocab, imageId, enc);
      },
      committed: async (imageId) => {
        for (const { vocab, enc } of encoded) await this.cache.add(vocab.info.id, imageId, enc.bow);
      },
    };
  }

  /**
   * Fails the versions whose build stopped without ending (issue 19, kill -9): 'building' or 'indexing' with no
   * unfinished build job of their modality. Left so, a version would stay 'indexing' for ever, and every ingestion of
   * its modality would go on encoding images under it. Run at start-up (after JobService.recover) and when a build
   * starts; on a shared Postgres a stopped process's job counts as unfinished until its heartbeat is stale.
   * @returns how many versions were failed
   */
  async recover(): Promise<number> {
    const stuck = await this.vocabularies.unfinished();
    if (stuck.length === 0) return 0;
    const building = new Set((await this.jobs.unfinished('vocabulary.build')).map((j) => (j.params as { modality?: string }).modality));
    let failed = 0;
    for (const v of stuck) {
      if (building.has(v.space.slice(0, v.space.indexOf('/')))) continue;
      await this.vocabularies.setState(v.id, 'failed');
      this.loaded.delete(v.id);
      failed++;
    }
    return failed;
  }

  /** Starts a vocabulary build for a modality's images; returns its Job at once. */
  async build(modalityName: string, opts: BuildOptions = {}, onProgress?: (done: number, total: number) => void) {
    await this.recover();
    const size = opts.size ?? DEFAULT_VOCABULARY_SIZE;
    if (!Number.isInteger(size) || size < 2 || size > 65_536) throw invalidParameter('size', 'an integer between 2 and 65536', size);
    const seed = opts.seed ?? 1;
    if (!Number.isInteger(seed)) throw invalidParameter('seed', 'an integer', seed);
    const named = await this.modalities.getByName(modalityName);
    const modality = await this.representations.modality(named.id);
    // checked here, before anything is queued; the job reads them again when it runs
    if ((await this.trainingImages(modality)).length === 0) throw invalidParameter('modality', 'a modality with images', modalityName);
    const job: BuildJobParams = { modality: modality.name, size, seed, oriented: opts.oriented ?? false };
    return this.jobs.enqueue('vocabulary.build', { ...job }, onProgress);
  }

  /** The images a build of a modality learns from: whole-slide images are searched by tile vectors, not words (services/wsi.service.ts). */
  private trainingImages(modality: ModalityWithModel): Promise<Image[]> {
    return this.prisma.image.findMany({ where: { modalityId: modality.id, pyramid: { equals: P.DbNull } }, orderBy: { id: 'asc' } });
  }

  /** The build job (queued, docs/adr/0023): its modality and images as they are when it runs. */
  private async runBuildJob(job: BuildJobParams, report: (done: number, total: number) => void) {
    const modality = await this.representations.modality((await this.modalities.getByName(job.modality)).id);
    const images = await this.trainingImages(modality);
    if (images.length === 0) throw invalidParameter('modality', 'a modality with images', job.modality);
    const params: VocabularyParams = {
      modality: modality.name,
      representation: representationSpace(modality),
      seed: job.seed,
      oriented: job.oriented,
      strongestFraction: DEFAULT_STRONGEST_FRACTION,
      requestedSize: job.size,
      trainingDescriptors: 0,
    };
    return this.runBuild(modality, images, params, report);
  }

  private async runBuild(
    modality: ModalityWithModel,
    images: Image[],
    params: VocabularyParams,
    report: (done: number, total: number) => void,
  ) {
    const n = images.length;
    const iterations = 100; // progress budget for k-means (its maximum, reference 1.2)
    const total = n + iterations + n;
    report(0, total);
    // 1. Pool descriptors (subsampled, seeded, when the repository would exceed the budget).
    const expected = images.reduce((s, i) => s + gridCount(i.width) * gridCount(i.height) * 4, 0);
    const keep = Math.min(1, MAX_TRAINING_DESCRIPTORS / Math.max(1, expected));
    const random = mulberry32(params.seed);
    // Every image's features are kept for step 3 when they fit REUSED_FEATURES_BYTES (SURF then runs once per image).
    const reuse = keep === 1 && expected * 64 * 4 <= REUSED_FEATURES_BYTES;
    const sets = [];
    const reused: (FeatureSet | undefined)[] = [];
    for (let k = 0; k < n; k++) {
      const f = denseSurf(await this.representations.ofImage(images[k], modality), VocabularyService.gridOptions(params));
      sets.push(keep < 1 ? subsample(f, keep, random) : f);
      if (reuse) reused.push(f);
      report(k + 1, total);
    }
    const training = selectStrongest(sets, params.strongestFraction);
    sets.length = 0;
    params.trainingDescriptors = training.length / 64;
    // 2. k-means, on a worker thread: the event loop keeps serving requests during the build.
    // `report` throws when the job is cancelled; thrown in the thread's message listener it would be uncaught, so it
    // is kept and thrown once k-means returns
    let stopped: unknown;
    const trained = await trainVocabularyOffThread(training, 64, {
      size: params.requestedSize,
      seed: params.seed,
      transfer: true,
      onProgress: (it) => {
        try {
          report(n + Math.min(it, iterations), total);
        } catch (e) {
          stopped ??= e;
        }
      },
    });
    if (stopped !== undefined) throw stopped;
    params.iterations = trained.report.iterations;
    params.images = n;
    const info = await this.vocabularies.create({
      space: vocabularySpace(modality),
      size: trained.size,
      dim: trained.dim,
      params: params as unknown as Record<string, never>,
      centroids: serializeVocabulary(trained),
    });
    // 3. Quantise every image.
    try {
      await this.vocabularies.setState(info.id, 'indexing');
      const vocab = await this.load(info);
      for (let k = 0; k < n; k++) {
        await this.index(images[k], modality, vocab, reused[k]);
        reused[k] = undefined;
        report(n + iterations + k + 1, total);
      }
      // Images ingested while the build ran: from 'indexing' on, ingestion encodes under this version itself; this
      // sweep finds those that committed before (repeated until none is left).
      for (let missing = await this.vectors.imagesWithoutHistogram(info.id, modality.id); missing.length > 0;
        missing = await this.vectors.imagesWithoutHistogram(info.id, modality.id)) {
        for (const image of missing) await this.index(image, modality, vocab);
      }
      const previous = await this.vocabularies.latestReady(info.space);
      await this.vocabularies.setState(info.id, 'ready');
      // The previous version is no longer searched: free its in-memory index and search tree.
      if (previous) {
        this.cache.invalidate(previous.id);
        this.loaded.delete(previous.id);
      }
    } catch (e) {
      await this.vocabularies.setState(info.id, 'failed');
      throw e;
    }
    this.cache.invalidate(info.id);
    return { vocabularyId: info.id, size: trained.size, trainingDescriptors: params.trainingDescriptors, iterations: params.iterations };
  }

  /** Encodes (from `features` when given) and stores one image under a vocabulary being built; an image deleted meanwhile is skipped. */
  private async index(image: Image, modality: ModalityWithModel, vocab: LoadedVocabulary, features?: FeatureSet): Promise<void> {
    try {
      const enc = features
        ? this.encodeFeatures(features, vocab)
        : this.encode(await this.representations.ofImage(image, modality), vocab);
      await this.prisma.$transaction((tx) => this.store(tx, vocab, image.id, enc));
    } catch (e) {
      if (await this.prisma.image.findUnique({ where: { id: image.id }, select: { id: true } })) throw e;
    }
  }
}

/** Keeps each descriptor with probability p (seeded), preserving order; used only for vocabulary training. */
function subsample(f: ReturnType<typeof denseSurf>, p: number, random: () => number): ReturnType<typeof denseSurf> {
  const keep: number[] = [];
  for (let i = 0; i < f.count; i++) if (random() < p) keep.push(i);
  const descriptors = new Float32Array(keep.length * 64);
  const strength = new Float32Array(keep.length);
  keep.forEach((i, j) => {
    descriptors.set(f.descriptors.subarray(i * 64, i * 64 + 64), j * 64);
    strength[j] = f.strength[i];
  });
  return { ...f, count: keep.length, descriptors, strength };
}
