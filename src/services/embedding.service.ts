import type { Prisma } from '../db/database.ts';
import type { Image } from '../db/generated/client.ts';
import type { Tx } from '../db/image.repository.ts';
import type { VectorRepository } from '../db/vector.repository.ts';
import type { ComirManifest } from '../pipeline/comir/comir.ts';
import { BOX_DESCRIBER, embeddingVersion, type ImageHit, rankImages, type WindowVector } from '../pipeline/index/embedding.ts';
import { markNoData } from '../pipeline/decode/nodata.ts';
import type { DescriberSpec, PipelineThreads } from '../pipeline/threads/pool.ts';
import type { GreyImage } from '../pipeline/types.ts';
import type { JobProgress, JobService } from './job.service.ts';
import type { ModalityService } from './modality.service.ts';
import { type ModalityWithModel, type RepresentationService, representationSpace } from './representation.service.ts';

/**
 * How many windows each query vector fetches from the HNSW index. Measured (docs/adr/0011): an image's best window is
 * what ranks it, and 100 per vector left the first stage's recall@30 unchanged against exact search on 160 vis-nir
 * images.
 */
export const FIRST_STAGE_WINDOWS = 100;

/**
 * How far (as a ratio) a whole-slide window's working side may be from a query square's: stored sides are
 * EMBEDDING_PARAMS.sideRatio = 1.25 apart, so every square has one within sqrt(1.25) = 1.12; 1.3 leaves room for a
 * pixel size a few per cent off and the query's own rounding.
 */
export const SLIDE_SIDE_TOLERANCE = 1.3;

/**
 * How many distinct places of an image the first stage hands on (a whole-slide image is correlated around each;
 * a plain image only around its best). Measured on a two-core slide: a core's best window was on the other core for one
 * query of two, its second on the right one (bench/results/slides.md has the benchmark).
 */
export const SLIDE_PLACES = 3;

/** Images a reindex job reads per batch (bounds memory; each image is written in its own transaction). */
const REINDEX_BATCH = 16;

/**
 * The vector first stage (docs/adr/0011): every image's windows of its representation (pipeline/index/embedding.ts) in
 * pgvector, written at ingestion or by a reindex job, and the nearest windows of a query's vectors found in SQL.
 */
export class EmbeddingService {
  constructor(
    private readonly prisma: Prisma,
    private readonly vectors: VectorRepository,
    private readonly representations: RepresentationService,
    private readonly modalities: ModalityService,
    private readonly jobs: JobService,
    private readonly threads: PipelineThreads,
  ) {
    jobs.handle('index.rebuild', (params, progress) => this.runReindex(params.modality as string | null, progress));
  }

  /**
   * Where a modality's vectors live: its representation space and the descriptor's version (the model's learned
   * descriptor when its manifest has one, docs/adr/0015, else the box vector).
   */
  static space(modality: ModalityWithModel | null): string {
    if (!modality) return `raw|${embeddingVersion()}`;
    const learned = (modality.comirModel?.manifest as unknown as ComirManifest | undefined)?.window_descriptor;
    return `${representationSpace(modality)}|${embeddingVersion(learned ?? BOX_DESCRIBER)}`;
  }

  /** Whether a modality's windows are described by its model's learned descriptor (docs/adr/0015). */
  static learned(modality: ModalityWithModel): boolean {
    return Boolean((modality.comirModel?.manifest as unknown as ComirManifest | undefined)?.window_descriptor);
  }

  /** What turns a modality's windows into vectors: its model's learned descriptor, or the box vector (null). */
  static describer(modality: ModalityWithModel | null): DescriberSpec {
    const model = modality?.comirModel;
    const spec = (model?.manifest as unknown as ComirManifest | undefined)?.window_descriptor;
    return model && spec ? { dir: model.dir, spec } : null;
  }

  /** The stored windows of a representation (pipeline/index/embedding.ts windowVectors), on a worker thread. */
  windowVectors(modality: ModalityWithModel | null, representation: GreyImage): Promise<WindowVector[]> {
    return this.threads.windowVectors(representation, EmbeddingService.describer(modality));
  }

  /**
   * The windows of an image's representation (NaN where it has no data), ready to write with the image's rows.
   * `modality` null: a modality this ingestion creates, so without a model (its raw grey pixels are the representation).
   */
  async prepare(modality: ModalityWithModel | null, representation: GreyImage, valid: Uint8Array | null) {
    const windows = await this.windowVectors(modality, valid ? markNoData(representation, valid) : representation);
    const space = EmbeddingService.space(modality);
    return {
      write: (tx: Tx, imageId: number, modalityId: number) => this.vectors.replaceEmbeddings(tx, imageId, modalityId, space, windows),
    };
  }

  /**
   * The first stage: the images of `target` ranked by the agreement on them of the query's vectors (its representation,
   * rotated within +-maxRotation; rankImages, docs/adr/0021), each with its best window.
   */
  async rank(query: GreyImage, target: ModalityWithModel, maxRotation: number): Promise<ImageHit<number>[]> {
    const qv = await this.threads.queryVectors(query, maxRotation, EmbeddingService.describer(target));
    // a whole-slide window answers a query square of about its own size (both at the working resolution)
    const sides = qv.map((q) => ({ min: q.side / SLIDE_SIDE_TOLERANCE, max: q.side * SLIDE_SIDE_TOLERANCE }));
    const hits = await this.vectors.nearestWindows(target.id, EmbeddingService.space(target), qv.map((q) => q.vector), FIRST_STAGE_WINDOWS, sides);
    return rankImages(hits, SLIDE_PLACES);
  }

  /** How many images of a modality are in the first stage's index. */
  indexed(target: ModalityWithModel): Promise<number> {
    return this.vectors.embeddedImages(target.id, EmbeddingService.space(target));
  }

  /**
   * Writes the vectors of one stored image in its own transaction (reindex), storing its CoMIR of the current model
   * first when it has none (a new model version: searches then read it rather than compute it).
   */
  private async indexImage(image: Image, modality: ModalityWithModel): Promise<void> {
    await this.representations.ensureStored(image, modality);
    const representation = await this.representations.withoutData(image, modality);
    const { write } = await this.prepare(modality, representation, null);
    await this.prisma.$transaction((tx) => write(tx, image.id, modality.id));
  }

  /**
   * Starts a job that brings the first stage's index of one modality, or of every modality, up to date: every image
   * without vectors in its modality's current space gets them, one image per transaction. A job killed midway leaves
   * every image indexed wholly or not at all; the next reindex goes on from there.
   */
  async reindex(modalityName?: string | null, onProgress?: (done: number, total: number) => void) {
    // an unknown modality is NOT_FOUND here, before anything is queued
    const name = modalityName ? (await this.modalities.getByName(modalityName)).name : null;
    return this.jobs.enqueue('index.rebuild', { modality: name }, onProgress);
  }

  /**
   * The reindex job (queued: any worker may run it, and a retry goes on from the images already indexed). `null`:
   * every modality.
   */
  private async runReindex(modalityName: string | null, progress: JobProgress): Promise<{ images: number }> {
    const names = modalityName ? [(await this.modalities.getByName(modalityName)).name] : (await this.modalities.list()).map((m) => m.name);
    const modalities = await Promise.all(names.map(async (n) => (await this.representations.modalityByName(n))!));
    const todo = await Promise.all(modalities.map((m) => this.vectors.countWithoutEmbeddings(m.id, EmbeddingService.space(m))));
    const total = todo.reduce((a, b) => a + b, 0);
    let done = 0;
    progress.report(0, total);
    for (const modality of modalities) {
      const space = EmbeddingService.space(modality);
      for (let after = 0; ; ) {
        const batch = await this.vectors.imagesWithoutEmbeddings(modality.id, space, after, REINDEX_BATCH);
        if (batch.length === 0) break;
        for (const image of batch) {
          await this.indexImage(image, modality);
          progress.report(++done, total);
          after = image.id;
        }
      }
    }
    return { images: done };
  }

}
