import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import type { Config } from '../config.ts';
import { isUniqueViolation, type Prisma } from '../db/database.ts';
import type { FileStore } from '../db/file-store.ts';
import { sha256Hex } from '../db/file-store.ts';
import type { Image, Job, Prisma as P } from '../db/generated/client.ts';
import type { ImageRepository } from '../db/image.repository.ts';
import type { ModalityRepository } from '../db/modality.repository.ts';
import type { SlideRepository } from '../db/slide.repository.ts';
import { AppError, BadUserInputError, containsNul, DuplicateImageError, echo, type ErrorCode, invalidParameter, isAppError, NotFoundError, PayloadTooLargeError } from '../errors.ts';
import { fromGlobalId, toGlobalId } from '../ids.ts';
import { decodeImage, encodeGreyPng, probeImage, thumbnailPng } from '../pipeline/decode/decode.ts';
import { type PyramidInfo, pyramidThumbnailPng } from '../pipeline/decode/pyramid.ts';
import type { GreyImage, PlanarImage } from '../pipeline/types.ts';
import type { EmbeddingService } from './embedding.service.ts';
import type { IndexCache } from './index-cache.ts';
import type { JobErrorResult, JobProgress, JobService } from './job.service.ts';
import type { RepresentationService } from './representation.service.ts';
import type { VocabularyService } from './vocabulary.service.ts';
import type { WholeSlideService } from './wsi.service.ts';
import type { ModalityService } from './modality.service.ts';
import { validateModalityName } from './modality.service.ts';
import { dataMask, requireData, validateNoDataValue } from './no-data.ts';
import { type Page, pageOf, validatePageArgs } from './pagination.ts';
import { validatePixelSize } from './pixel-size.ts';
import { type MetadataMatch, metadataMatches, validateSlideName } from './slide.service.ts';

export interface IngestInput {
  /** The file's bytes (an upload, or read by the CLI). */
  data: Buffer;
  /** The file's name, for the default image name. */
  fileName: string;
  modality: string;
  slide?: string | null;
  name?: string | null;
  page?: number | null;
  /** The file's fill where it has no data (0..1 of full scale; pipeline/decode/nodata.ts). */
  noDataValue?: number | null;
  /** Micrometres per pixel (whole-slide images: when the file does not say, or to check what it says). */
  micronsPerPixel?: number | null;
  /**
   * Whether an unknown modality is created with this image (default true: the CLI and internal callers act as the
   * home's operator). The GraphQL resolver passes false below the admin role (docs/adr/0014): FORBIDDEN, nothing written.
   */
  createModality?: boolean;
}

/** A validated ingestion plan: everything checked before anything is written. */
interface IngestPlan {
  data: Buffer;
  name: string;
  modality: string;
  slide: string | null;
  page: number;
  noDataValue: number | null;
  micronsPerPixel: number | null;
  createModality: boolean;
}

/**
 * What an ingestion job (`image.ingest`) carries: the validated plan without the bytes, which wait in the file store
 * under their checksum (docs/adr/0027).
 */
type IngestJobParams = Omit<IngestPlan, 'data'> & { sha256: string; byteSize: number };

/** How an ingestion job ended well: its image. */
interface IngestJobResult {
  imageId: number;
}

/**
 * How long the synchronous `ingest` waits for its queued job before answering SERVER_BUSY with the job's id (then
 * follow it with `job(id)`). Ingesting one image takes seconds (a 1024 px CoMIR: about 2 s on 2 cores, docs/adr/0020);
 * five minutes is a queue of about a hundred ahead of it on one worker, and below common proxies' idle timeouts.
 */
export const INGEST_WAIT_MS = 5 * 60_000;

export interface ImageFilter {
  modality?: string | null;
  slideId?: number | null;
  /** A substring of the name, case-insensitive. */
  name?: string | null;
  /** On a slide whose metadata holds each of these key = value pairs. */
  slideMetadata?: readonly MetadataMatch[] | null;
}

/** Thumbnail sizes allowed: bounded so a client cannot make the server render huge PNGs. */
export const THUMBNAIL_SIZES = { min: 16, max: 1024 } as const;
/**
 * The largest inline thumbnail (Image.thumbnailDataUrl): a page of 24 at 256 px is ~0.5 MB of PNG as base64 for
 * typical grey tissue (bench/results/ui.json: 462,822 bytes for 24 of them), where 1024 px would be ~16 times that.
 */
export const INLINE_THUMBNAIL_MAX = 256;

/**
 * What every ingestion checks first (a plain image or a whole slide): modality, slide and image names, and the page.
 * The name defaults to the file's name without its extension.
 */
export function validateIngestNames(input: { modality: string; slide?: string | null; name?: string | null; page?: number | null; file: string }) {
  const modality = validateModalityName(input.modality);
  const slide = input.slide == null ? null : validateSlideName(input.slide);
  const page = input.page ?? 0;
  if (!Number.isInteger(page) || page < 0) throw invalidParameter('page', 'a non-negative integer', page);
  const name = (input.name ?? path.parse(input.file).name).trim();
  if (name === '' || name.length > 200 || containsNul(name)) throw invalidParameter('name', 'a non-empty name of at most 200 characters, without U+0000 (NUL)', name);
  return { modality, slide, page, name };
}

/**
 * Decodes of more than this many samples (width x height x channels) run one at a time in a process: each takes 4 bytes
 * a sample as floats, and a 15,000 x 15,000 RGB PNG of 657 KB (a deflate bomb under DEFAULT_MAX_PIXELS) took 4 GB of
 * RSS and 39 s to decode here (issue 19, tmp script). 64 Mi samples (256 MB of floats) is an 8k x 8k grey image; a
 * 1024 x 680 photograph or a 512 px core is far below it, so ordinary uploads never wait.
 */
export const LARGE_DECODE_SAMPLES = 64 * 2 ** 20;
/**
 * Files refused while decoding are remembered by checksum (and page), this many, so the same bad file sent again is
 * answered at once instead of decoded again (issue 19: a bomb's second upload repeated its minutes of work).
 */
export const REMEMBERED_REFUSALS = 1024;

/**
 * On a shared Postgres, the file-store sweep at start-up (`ImageService.sweepFiles`) spares files younger than this:
 * another process may be between storing a file and committing its row right now, which takes seconds (an interactive
 * transaction waits at most 15 s to start and runs at most 5 s, src/db/database.ts). On the embedded database the
 * lock file says no other process is there, so nothing is spared.
 */
export const SHARED_SWEEP_GRACE_MS = 15 * 60_000;

/**
 * Refuses anything but a regular file (a folder, a FIFO, a socket, a device) without opening it: reading a FIFO
 * blocks until a writer comes, i.e. forever (issue 19). `shown` is the path as the caller gave it, for the message.
 */
async function assertRegularFile(file: string, shown = file): Promise<void> {
  let s;
  try {
    s = await stat(file);
  } catch (e) {
    throw new BadUserInputError(`cannot read ${path.resolve(shown)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { path: shown });
  }
  if (!s.isFile()) {
    const kind = s.isDirectory() ? 'a folder' : s.isFIFO() ? 'a FIFO (named pipe)' : s.isSocket() ? 'a socket' : s.isCharacterDevice() || s.isBlockDevice() ? 'a device' : 'not a regular file';
    throw new BadUserInputError(`${path.resolve(shown)} is ${kind}, not a regular file`, { path: shown });
  }
}

/** Reads a file a user named (a CLI argument): a regular file, else a BAD_USER_INPUT error that names it. */
export async function readUserFile(file: string): Promise<Buffer> {
  await assertRegularFile(file);
  return readRegularFile(file);
}

/**
 * Reads a file checked by assertRegularFile. It is opened non-blocking and checked again on the open handle, so a file
 * swapped for a FIFO in between is refused too instead of blocking (O_NONBLOCK changes nothing for a regular file).
 */
async function readRegularFile(file: string, shown = file): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw new BadUserInputError(`cannot read ${path.resolve(shown)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { path: shown });
  }
  try {
    if (!(await handle.stat()).isFile()) throw new BadUserInputError(`${path.resolve(shown)} is not a regular file`, { path: shown });
    return await handle.readFile();
  } catch (e) {
    if (e instanceof BadUserInputError) throw e;
    throw new BadUserInputError(`cannot read ${path.resolve(shown)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { path: shown });
  } finally {
    await handle.close();
  }
}

export class ImageService {
  /** Ingestions under way, by checksum: the same file sent twice at once is decoded once (issue 19). */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly refused = new LRUCache<string, AppError>({ max: REMEMBERED_REFUSALS });
  private readonly largeDecodes = pLimit(1);
  /** Thumbnails being rendered, by cache file. */
  private readonly thumbnailsInFlight = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly config: Config,
    private readonly prisma: Prisma,
    private readonly images: ImageRepository,
    private readonly slides: SlideRepository,
    private readonly modalityRepo: ModalityRepository,
    private readonly modalities: ModalityService,
    private readonly files: FileStore,
    private readonly representations?: RepresentationService,
    private readonly vocabularies?: VocabularyService,
    private readonly cache?: IndexCache,
    private readonly embeddings?: EmbeddingService,
    private readonly wsi?: WholeSlideService,
    private readonly jobs?: JobService,
  ) {
    jobs?.handle('image.ingest', (params, progress, job) => this.runIngestJob(params as unknown as IngestJobParams, progress, job));
    this.queuedIngestion = jobs?.queue.name === 'graphile-worker';
  }

  /**
   * Whether `ingest` runs its heavy part (decode, CoMIR, vectors, features) as a queued `image.ingest` job (docs/adr/0027)
   * and waits for it: on a Postgres server, where any worker takes it and a worker's crash hands it to another. On the
   * embedded database (one process) it runs in the caller, as before. `submit` always queues.
   */
  queuedIngestion: boolean;

  /**
   * Ingests a file on this machine: a whole-slide image (a tiled pyramidal TIFF, services/wsi.service.ts) is stored
   * as it is and tiled by a job (`tilingJob` is its id); any other image is read and ingested as `ingest` does. The
   * caller checks where the file may come from (assertServerPath for GraphQL; the CLI reads the user's own files).
   */
  async ingestFile(file: string, input: Omit<IngestInput, 'data' | 'fileName'>): Promise<{ image: Image; tilingJob: number | null }> {
    // before anything opens it: a FIFO would block the read (and the slide probe) forever (issue 19)
    await assertRegularFile(file);
    const pyramid = this.wsi ? await this.wsi.detect(file, input.page ?? 0) : null;
    if (pyramid && this.wsi) {
      if (input.noDataValue != null) throw new BadUserInputError('noDataValue is not supported for whole-slide images (their background is found by tissue detection)');
      const { image, jobId } = await this.wsi.ingest({ file, ...input }, pyramid);
      return { image, tilingJob: jobId };
    }
    const data = await readRegularFile(file);
    return { image: await this.ingest({ ...input, data, fileName: file }), tilingJob: null };
  }

  /**
   * `submit` for a file on this machine: a whole-slide image is stored and its tiling job returned (as `ingestFile`
   * starts it); any other image is read and queued.
   */
  async submitFile(file: string, input: Omit<IngestInput, 'data' | 'fileName'>): Promise<Job> {
    const jobs = this.requireJobs();
    await assertRegularFile(file);
    const pyramid = this.wsi ? await this.wsi.detect(file, input.page ?? 0) : null;
    if (pyramid) {
      const { jobId } = await this.ingestFile(file, input).then((r) => ({ jobId: r.tilingJob }));
      if (jobId !== null) return jobs.get(jobId);
    }
    const data = await readRegularFile(file);
    return this.submit({ ...input, data, fileName: file });
  }

  private plan(input: IngestInput): IngestPlan {
    const { modality, slide, page, name } = validateIngestNames({ ...input, file: input.fileName });
    if (input.data.length > this.config.maxUploadBytes) {
      throw new PayloadTooLargeError(`the file has ${input.data.length} bytes; the limit is ${this.config.maxUploadBytes} (CMIR_MAX_UPLOAD_BYTES)`, {
        maxBytes: this.config.maxUploadBytes,
        setting: 'CMIR_MAX_UPLOAD_BYTES',
      });
    }
    const noDataValue = validateNoDataValue(input.noDataValue);
    const micronsPerPixel = validatePixelSize(input.micronsPerPixel);
    return { data: input.data, name, modality, slide, page, noDataValue, micronsPerPixel, createModality: input.createModality ?? true };
  }

  /**
   * Ingests one image: validate, decode fully (a bad file is rejected before anything is written), store the file by
   * checksum, then create the rows in one transaction. If the transaction fails, a file this call created is removed,
   * so files and rows appear together or not at all.
   */
  async ingest(input: IngestInput): Promise<Image> {
    const plan = this.plan(input);
    await this.modalities.assertUsable(plan.modality, plan.createModality);
    // The checksum before the pixels: a stored file, one being ingested right now, or one already refused costs a
    // hash, not a decode (issue 19).
    const sha256 = sha256Hex(plan.data);
    if (this.queuedIngestion && this.jobs) return this.ingestQueued(plan, sha256, this.jobs);
    for (;;) {
      const existing = await this.images.findBySha256(sha256);
      if (existing) throw new DuplicateImageError(existing.id, sha256);
      const known = this.refused.get(`${sha256}:${plan.page}`);
      if (known) throw known;
      const running = this.inFlight.get(sha256);
      if (!running) break;
      await running.catch(() => undefined);
    }
    const work = this.ingestNew(plan, sha256);
    this.inFlight.set(sha256, work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(sha256);
    }
  }

  /** Decodes a plan's file (large ones one at a time); a file refused here is remembered by checksum and page. */
  private async decode(plan: IngestPlan, sha256: string) {
    const opts = { maxPixels: this.config.maxPixels, page: plan.page, timeoutSeconds: this.config.decodeSeconds };
    try {
      const header = await probeImage(plan.data, opts);
      const large = header.width * header.height * header.channels > LARGE_DECODE_SAMPLES;
      return await (large ? this.largeDecodes(() => decodeImage(plan.data, opts)) : decodeImage(plan.data, opts));
    } catch (e) {
      // a decode stopped by the time budget may pass on a quieter machine: not remembered
      if (isAppError(e) && e.details.decodeSeconds === undefined) this.refused.set(`${sha256}:${plan.page}`, e);
      throw e;
    }
  }

  /**
   * Decodes, derives and writes one image. `job`: run as an ingestion job, which reports progress (and stops there when
   * cancelled) and records its image in its own row in the same transaction as the image's rows (runIngestJob).
   */
  private async ingestNew(plan: IngestPlan, sha256: string, job?: { id: number; progress: JobProgress }): Promise<Image> {
    const { info, image: pixels } = await this.decode(plan, sha256);
    job?.progress.report(1, 3);
    const valid =
      plan.noDataValue === null
        ? null
        : this.representations
          ? requireData(await this.representations.noDataMask(pixels, plan.noDataValue, info.bitDepth), plan.noDataValue, 'image')
          : dataMask(pixels, plan.noDataValue, info.bitDepth, 'image');

    // Derived data, computed before anything is written: the CoMIR (when the modality has a model) and the
    // histogram under the modality's active vocabulary (when it has one).
    const derived = await this.derive(plan.modality, pixels, valid);
    job?.progress.report(2, 3);
    const written: string[] = [];
    try {
      const stored = await this.files.put(plan.data);
      if (stored.created) written.push(sha256);
      let reprSha: string | null = null;
      if (derived.representation) {
        const r = await this.files.put(derived.representation.png);
        if (r.created) written.push(r.sha256);
        reprSha = r.sha256;
      }
      const image = await this.prisma.$transaction(async (tx) => {
        const modality = await this.modalities.ensure(tx, plan.modality, info.channels, plan.createModality);
        const slide = plan.slide === null ? null : await this.slides.upsertByName(tx, plan.slide);
        const row = await this.images.create(tx, {
          name: plan.name,
          modalityId: modality.id,
          slideId: slide?.id ?? null,
          width: info.width,
          height: info.height,
          channels: info.channels,
          bitDepth: info.bitDepth,
          format: info.format,
          page: plan.page,
          noDataValue: plan.noDataValue,
          micronsPerPixel: plan.micronsPerPixel,
          byteSize: plan.data.length,
          sha256,
        });
        if (derived.representation && reprSha) {
          await tx.representation.create({
            data: { imageId: row.id, ...derived.representation.model, width: info.width, height: info.height, sha256: reprSha },
          });
        }
        await derived.indexing?.write(tx, row.id);
        await derived.embedding?.write(tx, row.id, modality.id);
        if (job) await tx.job.update({ where: { id: job.id }, data: { result: { imageId: row.id } satisfies IngestJobResult } });
        return row;
      });
      await derived.indexing?.committed(image.id);
      return image;
    } catch (e) {
      for (const sha of written) await this.files.remove(sha);
      if (isUniqueViolation(e)) {
        const winner = await this.images.findBySha256(sha256);
        if (winner) throw new DuplicateImageError(winner.id, sha256);
      }
      throw e;
    }
  }

  /**
   * Queues the ingestion of a file (docs/adr/0027) and returns its job: checked as `ingest` checks it (names, size,
   * modality, a duplicate, the file's header), the file stored under its checksum, then an `image.ingest` job that a
   * worker runs (decode, CoMIR, vectors, features, rows). The same file queued while its job is unfinished returns that
   * job.
   */
  async submit(input: IngestInput): Promise<Job> {
    const jobs = this.requireJobs();
    const plan = this.plan(input);
    await this.modalities.assertUsable(plan.modality, plan.createModality);
    const sha256 = sha256Hex(plan.data);
    const existing = await this.images.findBySha256(sha256);
    if (existing) throw new DuplicateImageError(existing.id, sha256);
    const known = this.refused.get(`${sha256}:${plan.page}`);
    if (known) throw known;
    const running = await this.unfinishedIngestion(sha256);
    if (running) return running;
    return this.enqueueIngestion(plan, sha256, jobs, true);
  }

  /**
   * The synchronous contract over the queue: queue the job (or join the one for the same file), wait, answer as
   * `ingest`. The file's header is read by the job, not here, so a file costs one probe and one decode as before.
   * The same file sent twice at once to this process: one job, the other call DUPLICATE_IMAGE (as without the queue);
   * a file whose job another process queued and that has not ended: this call answers with that job's outcome.
   */
  private async ingestQueued(plan: IngestPlan, sha256: string, jobs: JobService): Promise<Image> {
    for (;;) {
      const existing = await this.images.findBySha256(sha256);
      if (existing) throw new DuplicateImageError(existing.id, sha256);
      const known = this.refused.get(`${sha256}:${plan.page}`);
      if (known) throw known;
      // the same file sent by another caller: it is ingested once; this one then finds it stored (DUPLICATE_IMAGE)
      const here = this.inFlight.get(sha256);
      if (here) {
        await here.catch(() => undefined);
        continue;
      }
      // queued before by another process (or by one that stopped, whose job is handed back and run again): that job
      // is this file's ingestion, and its outcome this call's
      const running = await this.unfinishedIngestion(sha256);
      // queued by another call of this process meanwhile: wait for that one above (then DUPLICATE_IMAGE)
      if (this.inFlight.has(sha256)) continue;
      if (running) return this.waitIngestion(running.id, jobs);
      const work = this.enqueueIngestion(plan, sha256, jobs, false).then((job) => this.waitIngestion(job.id, jobs));
      this.inFlight.set(sha256, work);
      try {
        return await work;
      } finally {
        this.inFlight.delete(sha256);
      }
    }
  }

  /** Waits for an ingestion job and answers as `ingest` would have: its image, or the typed error it failed with. */
  private async waitIngestion(jobId: number, jobs: JobService): Promise<Image> {
    const job = await jobs.wait(jobId, { timeoutMs: INGEST_WAIT_MS });
    const id = toGlobalId('Job', job.id);
    if (job.state === 'SUCCEEDED') return this.get((job.result as unknown as IngestJobResult).imageId);
    if (job.state === 'FAILED') {
      const typed = (job.result as unknown as JobErrorResult | null)?.error;
      if (!typed) throw new Error(`ingestion job ${id} failed: ${job.error ?? 'no reason recorded'}`);
      if (typed.code === 'DUPLICATE_IMAGE') throw new DuplicateImageError(fromGlobalId('Image', String(typed.details.existingId)), String(typed.details.sha256));
      throw new AppError(typed.code as ErrorCode, typed.message, typed.details as Record<string, unknown>);
    }
    if (job.state === 'CANCELLED') throw new AppError('CONFLICT', `ingestion job ${id} was cancelled`, { job: id });
    throw new AppError('SERVER_BUSY', `ingestion job ${id} is still ${job.state === 'QUEUED' ? 'waiting for a worker' : 'running'} after ${INGEST_WAIT_MS / 1000} s: follow it with job(id)`, { job: id });
  }

  /** The unfinished ingestion job of a file (by checksum), if any. */
  private async unfinishedIngestion(sha256: string): Promise<Job | null> {
    return this.prisma.job.findFirst({
      where: { kind: 'image.ingest', state: { in: ['QUEUED', 'RUNNING'] }, params: { path: ['sha256'], equals: sha256 } },
      orderBy: { id: 'asc' },
    });
  }

  /**
   * The request's part of a queued ingestion: with `probe`, the file's header (a file that is not an image, or has
   * too many pixels, is refused at once at the cost of a header read), then the file stored under its checksum, then
   * the job. A job that cannot be queued leaves no file behind.
   */
  private async enqueueIngestion(plan: IngestPlan, sha256: string, jobs: JobService, probe: boolean): Promise<Job> {
    if (probe) {
      try {
        await probeImage(plan.data, { maxPixels: this.config.maxPixels, page: plan.page, timeoutSeconds: this.config.decodeSeconds });
      } catch (e) {
        if (isAppError(e)) this.refused.set(`${sha256}:${plan.page}`, e);
        throw e;
      }
    }
    const stored = await this.files.put(plan.data);
    const params: IngestJobParams = {
      sha256,
      byteSize: plan.data.length,
      name: plan.name,
      modality: plan.modality,
      slide: plan.slide,
      page: plan.page,
      noDataValue: plan.noDataValue,
      micronsPerPixel: plan.micronsPerPixel,
      createModality: plan.createModality,
    };
    try {
      return await jobs.enqueue('image.ingest', params as unknown as P.InputJsonObject);
    } catch (e) {
      if (stored.created) await this.files.remove(sha256);
      throw e;
    }
  }

  /**
   * An `image.ingest` job's attempt: the stored file decoded, derived and written as `ingest` does, its image recorded
   * in the job's row in the same transaction. So a later attempt (after a kill -9 anywhere in this one) finds either
   * the image and its own row naming it (done: the same image, nothing written twice) or nothing (done again). Another
   * image with the file is DUPLICATE_IMAGE. A file that fails to decode leaves nothing in the store.
   */
  private async runIngestJob(params: IngestJobParams, progress: JobProgress, job: Job): Promise<P.InputJsonObject> {
    const existing = await this.images.findBySha256(params.sha256);
    if (existing) {
      if ((job.result as unknown as IngestJobResult | null)?.imageId === existing.id) return { imageId: existing.id } satisfies IngestJobResult;
      throw new DuplicateImageError(existing.id, params.sha256);
    }
    let data: Buffer;
    try {
      data = await this.files.read(params.sha256);
    } catch {
      throw new AppError('NOT_FOUND', `the file of ingestion job ${toGlobalId('Job', job.id)} (sha256 ${params.sha256}) is no longer in the file store`, { sha256: params.sha256 });
    }
    progress.report(0, 3);
    try {
      const image = await this.ingestNew({ ...params, data }, params.sha256, { id: job.id, progress });
      progress.report(3, 3);
      return { imageId: image.id } satisfies IngestJobResult;
    } catch (e) {
      // refused for good (not an image after all, ...): its file goes, unless an image or another job needs it
      if (isAppError(e) && !(e instanceof DuplicateImageError) && !(await this.images.findBySha256(params.sha256))) {
        const others = await this.prisma.job.count({
          where: { id: { not: job.id }, kind: 'image.ingest', state: { in: ['QUEUED', 'RUNNING'] }, params: { path: ['sha256'], equals: params.sha256 } },
        });
        if (others === 0) await this.files.remove(params.sha256);
      }
      throw e;
    }
  }

  private requireJobs(): JobService {
    if (!this.jobs) throw new Error('ImageService was built without a JobService: ingestion jobs are unavailable');
    return this.jobs;
  }

  private async derive(modalityName: string, pixels: PlanarImage, valid: Uint8Array | null) {
    if (!this.representations || !this.vocabularies || !this.embeddings) return {};
    const representations = this.representations;
    const modality = await representations.modalityByName(modalityName);
    if (!modality) {
      // a new modality (created with this image), so without a model: its first-stage vectors are of grey pixels
      return { embedding: await this.embeddings.prepare(null, representations.grey({ normalization: 'linear' }, pixels), valid) };
    }
    let grey: Promise<GreyImage> | undefined;
    const compute = () => (grey ??= representations.compute(modality, pixels));
    const representation = modality.comirModel
      ? {
          png: await encodeGreyPng(await compute()),
          model: { modelName: modality.comirModel.name, modelVersion: modality.comirModel.version },
        }
      : undefined;
    const indexing = await this.vocabularies.prepareIndexing(modality, compute);
    const embedding = await this.embeddings.prepare(modality, await compute(), valid);
    return { representation, indexing: indexing ?? undefined, embedding };
  }

  /**
   * Refuses server paths outside CMIR_INGEST_ROOTS (and, when `models` is set, outside the models folder): a GraphQL
   * client must not make the server read arbitrary files. Links are resolved first (realpath of the path and of the
   * roots), so a symlink inside a root that points outside it is refused too. Returns the resolved path: read that one,
   * not the path as given. A path that does not exist is checked as written (nothing to follow).
   */
  async assertServerPath(filePath: string, models = false): Promise<string> {
    const resolved = path.resolve(filePath);
    const real = await realpath(resolved).catch(() => null);
    const configured = models ? [...this.config.ingestRoots, this.config.modelsDir] : this.config.ingestRoots;
    const roots = await Promise.all(configured.map((root) => realpath(root).catch(() => root)));
    const target = real ?? resolved;
    const inside = (p: string) => roots.some((root) => p === root || p.startsWith(root + path.sep));
    if (!inside(target)) {
      throw new BadUserInputError(
        this.config.ingestRoots.length === 0
          ? 'ingesting server-side paths is disabled; set CMIR_INGEST_ROOTS to the folders it may read'
          : // the path as the client gave it: resolving a relative one would show the server's working folder (issue 19)
            `${JSON.stringify(echo(filePath))} is outside the folders in CMIR_INGEST_ROOTS${real && real !== resolved ? ' (links resolved)' : ''}`,
        { path: echo(filePath) },
      );
    }
    return target;
  }

  /** Reads a server-side file for ingestion, only inside the configured roots. */
  async readServerFile(filePath: string): Promise<Buffer> {
    const resolved = await this.assertServerPath(filePath);
    await assertRegularFile(resolved, filePath);
    return readRegularFile(resolved, filePath);
  }

  async get(id: number): Promise<Image> {
    const image = await this.images.findById(id);
    if (!image) throw new NotFoundError('Image', id);
    return image;
  }

  /**
   * The image a person names on the command line: its API id, or its name where exactly one image has that name
   * (issue 23 item 5). NOT_FOUND when neither; BAD_USER_INPUT, with the candidates' ids, when the name is shared.
   */
  async resolve(ref: string): Promise<Image> {
    let id: number | null = null;
    try {
      id = fromGlobalId('Image', ref);
    } catch {
      // not an image id: a name
    }
    if (id !== null) return this.get(id);
    const named = await this.images.findByName(ref, 5);
    if (named.length === 1) return named[0];
    if (named.length === 0) throw new NotFoundError('Image', ref);
    throw new BadUserInputError(`${JSON.stringify(ref)} names ${named.length === 5 ? 'at least 5' : named.length} images (${named.map((i) => toGlobalId('Image', i.id)).join(', ')}): give one of their ids`, { name: ref });
  }

  async list(filter: ImageFilter, args: { first?: number | null; after?: string | null }): Promise<Page<Image>> {
    const { first, afterId } = validatePageArgs(args);
    const where = {
      modalityId: filter.modality ? ((await this.modalityRepo.findByName(filter.modality))?.id ?? -1) : undefined,
      slideId: filter.slideId ?? undefined,
      nameContains: filter.name ?? undefined,
      slideMetadata: metadataMatches(filter.slideMetadata),
    };
    const [rows, totalCount] = await Promise.all([this.images.page(where, first + 1, afterId), this.images.count(where)]);
    return pageOf(rows, first, totalCount, afterId !== undefined);
  }

  /** Images by id (missing ids are left out). */
  getMany(ids: readonly number[]): Promise<Image[]> {
    return this.images.findManyByIds(ids);
  }

  /** The stored CoMIR of each image, as "model@version" (first 12 hex digits), for listings. */
  async comirVersions(imageIds: readonly number[]): Promise<Map<number, string>> {
    const rows = await this.prisma.representation.findMany({
      where: { imageId: { in: [...imageIds] } },
      select: { imageId: true, modelName: true, modelVersion: true },
    });
    return new Map(rows.map((r) => [r.imageId, `${r.modelName}@${r.modelVersion.slice(0, 12)}`]));
  }

  /**
   * Removes what a stopped process left in the file store (issue 19, kill -9): temporary files, and files no row
   * refers to (an ingestion killed after storing its file and CoMIR but before its rows committed, or a deletion killed
   * between its rows and its files), last modified more than `graceMs` ago. Run at start-up (src/app.ts).
   * @returns the names removed
   */
  async sweepFiles(graceMs: number): Promise<string[]> {
    const before = new Date(Date.now() - graceMs);
    // read after `before`: a file older than that is either referenced by a committed row now, or by none
    // and the files that queued ingestion jobs wait to read (docs/adr/0027), however long they wait for a worker
    const rows = await this.prisma.$queryRaw<{ sha256: string }[]>`
      SELECT sha256 FROM "Image" UNION SELECT sha256 FROM "Representation" UNION SELECT sha256 FROM "Tile"
      UNION SELECT params->>'sha256' FROM "Job" WHERE kind = 'image.ingest' AND state IN ('QUEUED', 'RUNNING')`;
    const referenced = new Set(rows.map((r) => r.sha256));
    return this.files.sweep((sha) => referenced.has(sha), before);
  }

  /** Where an image's file is kept (a whole-slide image is read from there region by region). */
  storedPath(image: Pick<Image, 'sha256'>): string {
    return this.files.pathOf(image.sha256);
  }

  /** Deletes the rows (histograms, representations and links cascade), then the stored file. */
  async delete(id: number): Promise<Image> {
    const image = await this.get(id);
    const reprs = await this.prisma.representation.findMany({ where: { imageId: id }, select: { sha256: true } });
    const tiles = await this.prisma.tile.findMany({ where: { imageId: id }, select: { sha256: true } });
    await this.prisma.$transaction((tx) => this.images.delete(tx, id));
    await this.cache?.remove(id);
    await this.files.remove(image.sha256);
    for (const r of reprs) await this.files.remove(r.sha256);
    // a whole-slide image's tile CoMIRs, unless another slide's tile has the same content (the store is by checksum)
    const shared = new Set((await this.prisma.tile.findMany({ where: { sha256: { in: tiles.map((t) => t.sha256) } }, select: { sha256: true } })).map((t) => t.sha256));
    for (const sha of new Set(tiles.map((t) => t.sha256))) if (!shared.has(sha)) await this.files.remove(sha);
    return image;
  }

  /** A PNG thumbnail, rendered once per (file, size) and cached under `home/cache/thumbnails`. */
  /** A thumbnail small enough to inline in a GraphQL answer (Image.thumbnailDataUrl): at most INLINE_THUMBNAIL_MAX px. */
  inlineThumbnail(id: number, size: number): Promise<Buffer> {
    if (!Number.isInteger(size) || size < THUMBNAIL_SIZES.min || size > INLINE_THUMBNAIL_MAX) {
      throw invalidParameter('size', `an integer between ${THUMBNAIL_SIZES.min} and ${INLINE_THUMBNAIL_MAX} for an inline thumbnail`, size);
    }
    return this.thumbnail(id, size);
  }

  async thumbnail(id: number, size: number): Promise<Buffer> {
    if (!Number.isInteger(size) || size < THUMBNAIL_SIZES.min || size > THUMBNAIL_SIZES.max) {
      throw invalidParameter('size', `an integer between ${THUMBNAIL_SIZES.min} and ${THUMBNAIL_SIZES.max}`, size);
    }
    const image = await this.get(id);
    const cached = path.join(this.config.home, 'cache', 'thumbnails', `${image.sha256}-${image.page}-${size}.png`);
    if (await stat(cached).then(() => true, () => false)) return readFile(cached);
    // Concurrent requests for one thumbnail render it once; each write goes to its own temporary file, so two renders
    // (two processes) never rename each other's: under load a shared `.tmp` made the loser's rename fail, a 500
    // (bench/load.ts, issue 19).
    const running = this.thumbnailsInFlight.get(cached);
    if (running) return running;
    const render = (async () => {
      const png = image.pyramid
        ? await pyramidThumbnailPng(this.files.pathOf(image.sha256), image.pyramid as unknown as PyramidInfo, size)
        : await thumbnailPng(await this.files.read(image.sha256), size, { maxPixels: this.config.maxPixels, page: image.page });
      await mkdir(path.dirname(cached), { recursive: true });
      const tmp = `${cached}.${process.pid}-${randomUUID()}.tmp`;
      await writeFile(tmp, png);
      await rename(tmp, cached);
      return png;
    })();
    this.thumbnailsInFlight.set(cached, render);
    try {
      return await render;
    } finally {
      this.thumbnailsInFlight.delete(cached);
    }
  }
}

