/**
 * Whole-slide images (issue 18): a pyramidal TIFF is stored as it is and never decoded whole. A tiling job cuts its
 * tissue into overlapping tiles at the CoMIR model's working resolution (pipeline/decode/tiling.ts) and stores each
 * tile's CoMIR and first-stage vectors in one transaction, so a job killed midway goes on where it stopped. Searches
 * read the slide's CoMIR around the first stage's window from those tiles (`region`).
 */
import { open, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.ts';
import type { Prisma } from '../db/database.ts';
import { type FileStore, sha256File } from '../db/file-store.ts';
import type { Image, Prisma as P } from '../db/generated/client.ts';
import type { ImageRepository } from '../db/image.repository.ts';
import type { SlideRepository } from '../db/slide.repository.ts';
import type { TileRepository } from '../db/tile.repository.ts';
import type { VectorRepository } from '../db/vector.repository.ts';
import { BadUserInputError, DuplicateImageError, PayloadTooLargeError } from '../errors.ts';
import { decodeImage, encodeGreyPng, toGrey } from '../pipeline/decode/decode.ts';
import { type PyramidInfo, readPyramid, readRegion, validatePyramid } from '../pipeline/decode/pyramid.ts';
import { assembleRegion, MIN_TISSUE, planTiles, TILE_STRIDE, type TilePlan, tissueFraction, tissueMask } from '../pipeline/decode/tiling.ts';
import { downsample } from '../pipeline/rerank/correlate.ts';
import type { GreyImage, Region } from '../pipeline/types.ts';
import { EmbeddingService } from './embedding.service.ts';
import type { JobService } from './job.service.ts';
import type { ModalityService } from './modality.service.ts';
import { validateIngestNames } from './image.service.ts';
import { validatePixelSize, workingMicronsPerPixel } from './pixel-size.ts';
import { ReducedCache } from './reduced-cache.ts';
import type { ModalityWithModel, RepresentationService } from './representation.service.ts';

export interface SlideIngestInput {
  /** The slide file on this machine (already checked against CMIR_INGEST_ROOTS by the caller). */
  file: string;
  modality: string;
  slide?: string | null;
  name?: string | null;
  /** The full-resolution level's page (an OME-TIFF channel or plane); default 0. */
  page?: number | null;
  /** Micrometres per pixel, when the file does not say or to check what it says. */
  micronsPerPixel?: number | null;
  /** Whether an unknown modality is created (default true; image.service.ts IngestInput.createModality). */
  createModality?: boolean;
}

/**
 * A declared pixel size further than this (relative) from the file's is refused: the two disagree on the slide's
 * scale, and tiles cut at the wrong one would match nothing. 5 %: scanners' calibrations of one objective differ by
 * 1-3 % (e.g. 0.2490 vs 0.2527 um for 40x), a 20x/40x mix-up by 100 %.
 */
export const PIXEL_SIZE_TOLERANCE = 0.05;

/**
 * The largest whole-slide image accepted (pixels at full resolution): 5x the 10 gigapixels issue 18 names as the
 * largest scans, so a header that claims more (a crafted or corrupt file) cannot start a job of millions of tiles.
 */
export const MAX_SLIDE_PIXELS = 50e9;

/** The tiling state of a whole-slide image (Image.tilingState). */
export type TilingState = 'PENDING' | 'DONE' | 'FAILED';

/** Decoded tile CoMIRs kept for searches, by bytes (a 1536 px tile is 9 MB of floats). */
const TILE_CACHE_BYTES = 256 * 1024 * 1024;

/** Tissue is detected on the slide seen at most this many pixels a side: a 768 px owned square of a 40,000 px slide at 0.5 um/px is ~160 px there. */
const TISSUE_THUMBNAIL_SIDE = 2048;

export function isWholeSlide(image: Pick<Image, 'pyramid'>): boolean {
  return image.pyramid != null;
}

/** Working pixels per full-resolution pixel: the model's working resolution over the slide's, 1 when either is unknown. */
export function workingScale(image: Pick<Image, 'micronsPerPixel'>, modality: ModalityWithModel): number {
  const working = workingMicronsPerPixel(modality);
  return working && image.micronsPerPixel ? image.micronsPerPixel / working : 1;
}

export class WholeSlideService {
  private readonly tileCache: ReducedCache;
  private readonly plans = new Map<string, TilePlan[]>();

  constructor(
    private readonly config: Config,
    private readonly prisma: Prisma,
    private readonly images: ImageRepository,
    private readonly slides: SlideRepository,
    private readonly tiles: TileRepository,
    private readonly vectors: VectorRepository,
    private readonly modalities: ModalityService,
    private readonly representations: RepresentationService,
    private readonly files: FileStore,
    private readonly jobs: JobService,
    private readonly embeddings: EmbeddingService,
  ) {
    this.tileCache = new ReducedCache(TILE_CACHE_BYTES);
    jobs.handle('slide.tile', (params, progress) => this.tile(params.imageId as number, progress));
  }

  /**
   * Whether a file is a whole-slide image: a tiled TIFF with a pyramid, or one too large to decode whole. Anything
   * else (or not a TIFF) is a plain image.
   */
  async detect(file: string, page = 0): Promise<PyramidInfo | null> {
    if (!(await isTiff(file))) return null;
    // a TIFF whose structure or compression cannot be read fails here, with the reason (not as a plain image)
    const info = await readPyramid(file, page);
    if (!info.tiled) return null;
    return info.levels.length >= 2 || info.width * info.height > this.config.maxPixels ? info : null;
  }

  /**
   * Ingests a whole-slide image: checks the pyramid (structure, pixel size, that its smallest level and a
   * full-resolution tile decode), stores the file by checksum, writes the row, and starts the tiling job. Nothing is
   * written when a check fails; the same file twice is DUPLICATE_IMAGE.
   */
  async ingest(input: SlideIngestInput, info?: PyramidInfo): Promise<{ image: Image; jobId: number }> {
    const { modality: modalityName, slide: slideName, page, name } = validateIngestNames(input);
    const createModality = input.createModality ?? true;
    await this.modalities.assertUsable(modalityName, createModality);
    const declared = validatePixelSize(input.micronsPerPixel);
    const pyramid = info ?? (await readPyramid(input.file, page));
    if (pyramid.width * pyramid.height > MAX_SLIDE_PIXELS) {
      throw new PayloadTooLargeError(`${pyramid.width}x${pyramid.height} exceeds the limit of ${MAX_SLIDE_PIXELS} pixels for a whole-slide image (a fixed limit against corrupt headers, no setting)`, {
        width: pyramid.width,
        height: pyramid.height,
        maxPixels: MAX_SLIDE_PIXELS,
      });
    }
    const mpp = resolvePixelSize(pyramid, declared);
    await validatePyramid(input.file, pyramid);

    const sha256 = await sha256File(input.file);
    const existing = await this.images.findBySha256(sha256);
    if (existing) throw new DuplicateImageError(existing.id, sha256);
    const { size } = await stat(input.file);
    const stored = await this.files.putFile(input.file, sha256);
    let image: Image;
    try {
      image = await this.prisma.$transaction(async (tx) => {
        const modality = await this.modalities.ensure(tx, modalityName, pyramid.channels, createModality);
        const slide = slideName === null ? null : await this.slides.upsertByName(tx, slideName);
        return this.images.create(tx, {
          name,
          modalityId: modality.id,
          slideId: slide?.id ?? null,
          width: pyramid.width,
          height: pyramid.height,
          channels: pyramid.channels,
          bitDepth: pyramid.bitDepth,
          format: 'tiff',
          page,
          byteSize: size,
          sha256,
          micronsPerPixel: mpp,
          pyramid: pyramidJson(pyramid),
          tilingState: 'PENDING' satisfies TilingState,
        });
      });
    } catch (e) {
      if (stored.created) await this.files.remove(sha256);
      if ((e as { code?: string }).code === 'P2002') {
        const winner = await this.images.findBySha256(sha256);
        if (winner) throw new DuplicateImageError(winner.id, sha256);
      }
      throw e;
    }
    const job = await this.startTiling(image.id);
    return { image, jobId: job.id };
  }

  /**
   * Starts (or restarts) the tiling job of a whole-slide image. Tiles already stored are kept, so a job that a crash
   * (kill -9) interrupted goes on where it stopped.
   */
  startTiling(imageId: number, onProgress?: (done: number, total: number) => void) {
    return this.jobs.enqueue('slide.tile', { imageId }, onProgress);
  }

  /**
   * At start-up (after JobService.recover has failed the orphans): restarts the tiling of every whole-slide image still
   * PENDING whose job died with its process. One that a live job (another server on a shared Postgres) is tiling is
   * left to it.
   */
  async resumePending(): Promise<number[]> {
    const pending = await this.prisma.image.findMany({ where: { tilingState: 'PENDING' }, select: { id: true } });
    const live = await this.prisma.job.findMany({ where: { kind: 'slide.tile', state: { in: ['QUEUED', 'RUNNING'] } }, select: { params: true } });
    const busy = new Set(live.map((j) => (j.params as { imageId?: number }).imageId));
    const jobs = [];
    for (const { id } of pending) if (!busy.has(id)) jobs.push((await this.startTiling(id)).id);
    return jobs;
  }

  private async tile(imageId: number, progress: { report(done: number, total?: number): void }): Promise<P.InputJsonObject> {
    const image = await this.prisma.image.findUniqueOrThrow({ where: { id: imageId } });
    try {
      // another attempt of a job whose last one failed (docs/adr/0023): tiling again, so pending again
      if (image.tilingState === 'FAILED') await this.prisma.image.update({ where: { id: imageId }, data: { tilingState: 'PENDING' satisfies TilingState } });
      const modality = await this.representations.modality(image.modalityId);
      const pyramid = image.pyramid as unknown as PyramidInfo;
      const file = this.files.pathOf(image.sha256);
      const scale = workingScale(image, modality);
      const version = tileVersion(modality);
      const plan = this.plan(image, scale);
      const W = Math.max(1, Math.floor(image.width * scale)), H = Math.max(1, Math.floor(image.height * scale));

      // tissue, seen at most TISSUE_THUMBNAIL_SIDE a side (read from the pyramid's nearest level)
      const thumbScale = Math.min(scale, TISSUE_THUMBNAIL_SIDE / Math.max(image.width, image.height));
      const thumb = toGrey(await readRegion(file, pyramid, { x: 0, y: 0, width: image.width, height: image.height }, { scale: thumbScale }));
      const mask = tissueMask(thumb);
      const maskScale = thumb.width / W;
      const todo = plan
        .map((t) => ({ ...t, tissue: tissueFraction(mask, thumb.width, thumb.height, maskScale, t.owned) }))
        .filter((t) => t.tissue >= MIN_TISSUE);
      const have = new Set((await this.tiles.ofImage(imageId, version)).map((t) => `${t.x},${t.y}`));
      const space = EmbeddingService.space(modality);
      let done = todo.filter((t) => have.has(`${t.source.x},${t.source.y}`)).length;
      progress.report(done, todo.length);
      let windows = 0;
      // where the time goes (job result): reading pixels, CoMIR, PNG + window vectors, the transaction
      const ms = { read: 0, comir: 0, vectors: 0, write: 0 };
      let writing: Promise<void> = Promise.resolve();
      for (const t of todo) {
        if (have.has(`${t.source.x},${t.source.y}`)) continue;
        let t0 = performance.now();
        const pixels = await readRegion(file, pyramid, t.source, { size: { width: t.box.width, height: t.box.height } });
        ms.read += performance.now() - t0;
        t0 = performance.now();
        const comir = await this.representations.compute(modality, pixels);
        ms.comir += performance.now() - t0;
        t0 = performance.now();
        const png = await encodeGreyPng(comir);
        const put = await this.files.put(png);
        const own = (await this.embeddings.windowVectors(modality, comir))
          .filter((w) => {
            const cx = t.box.x + w.x + w.side / 2, cy = t.box.y + w.y + w.side / 2;
            return cx >= t.owned.x && cx < t.owned.x + t.owned.width && cy >= t.owned.y && cy < t.owned.y + t.owned.height;
          })
          .map((w) => ({ ...w, x: Math.round((t.box.x + w.x) / scale), y: Math.round((t.box.y + w.y) / scale), side: Math.round(w.side / scale), workingSide: w.side }));
        ms.vectors += performance.now() - t0;
        // one tile's transaction runs while the next tile's CoMIR is computed (on a worker thread, pipeline/threads)
        try {
          await writing;
        } catch (e) {
          if (put.created) await this.files.remove(put.sha256);
          throw e;
        }
        writing = (async () => {
          const t1 = performance.now();
          try {
            await this.prisma.$transaction(async (tx) => {
              await this.tiles.create(tx, {
                imageId,
                modelVersion: version,
                ...t.source,
                comirWidth: comir.width,
                comirHeight: comir.height,
                sha256: put.sha256,
                tissue: t.tissue,
              });
              await this.vectors.addEmbeddings(tx, imageId, image.modalityId, space, own);
            });
          } catch (e) {
            if (put.created) await this.files.remove(put.sha256);
            throw e;
          }
          ms.write += performance.now() - t1;
          windows += own.length;
          progress.report(++done, todo.length);
        })();
        writing.catch(() => undefined); // awaited before the next write; a failure ends the job there
      }
      await writing;
      await this.prisma.image.update({ where: { id: imageId }, data: { tilingState: 'DONE' satisfies TilingState, tilingError: null } });
      const seconds = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v / 100) / 10]));
      // windows: the slide's, also those an interrupted run stored
      const total = await this.prisma.embedding.count({ where: { imageId } });
      return { imageId, tiles: todo.length, of: plan.length, windows: total, windowsThisRun: windows, width: W, height: H, seconds };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      await this.prisma.image
        .update({ where: { id: imageId }, data: { tilingState: 'FAILED' satisfies TilingState, tilingError: reason } })
        .catch(() => undefined);
      throw e;
    }
  }

  private plan(image: Image, scale: number): TilePlan[] {
    const key = `${image.id}|${scale}`;
    let plan = this.plans.get(key);
    if (!plan) {
      plan = planTiles(image.width, image.height, scale);
      this.plans.set(key, plan);
    }
    return plan;
  }

  /** The slide's size in working pixels. */
  workingSize(image: Image, modality: ModalityWithModel): { width: number; height: number; scale: number } {
    const scale = workingScale(image, modality);
    return { width: Math.max(1, Math.floor(image.width * scale)), height: Math.max(1, Math.floor(image.height * scale)), scale };
  }

  /**
   * The slide's CoMIR over `region` (working pixels), assembled from its stored tiles (pipeline/decode/tiling.ts
   * assembleRegion); NaN where it has no tissue tile.
   */
  region(image: Image, modality: ModalityWithModel, region: Region): Promise<GreyImage> {
    return this.regionAt(image, modality, region, 1);
  }

  /**
   * The slide's CoMIR over `part` (pixels at 1/factor of the working resolution), as downsample(region(part x factor),
   * factor) gives it. Where the tile grid divides by the factor (768 and 384 working pixels do for 1, 2, 3, 4, 6, 8,
   * 12, 16, ...) the tiles are downsampled first and cached so, by (tile, factor): a search then reuses a slide's
   * coarse tiles instead of decoding every 1536 px tile PNG again (a 6-slide search touches ~70 of them).
   */
  async regionAt(image: Image, modality: ModalityWithModel, part: Region, factor: number): Promise<GreyImage> {
    const scale = workingScale(image, modality);
    const plan = this.plan(image, scale);
    const bySource = new Map(plan.map((t) => [`${t.source.x},${t.source.y}`, t]));
    const region = { x: part.x * factor, y: part.y * factor, width: part.width * factor, height: part.height * factor };
    const full = { x: region.x / scale, y: region.y / scale, width: region.width / scale, height: region.height / scale };
    const rows = await this.tiles.intersecting(image.id, tileVersion(modality), full);
    const aligned = TILE_STRIDE % factor === 0 && (TILE_STRIDE / 2) % factor === 0;
    const f = aligned ? factor : 1;
    const tiles = [];
    for (const row of rows) {
      const t = bySource.get(`${row.x},${row.y}`);
      if (!t) continue;
      const comir = await this.tileCache.get(`${row.sha256}|${f}`, async () => {
        const whole = toGrey((await decodeImage(await this.files.read(row.sha256), { maxPixels: this.config.maxPixels })).image);
        return f === 1 ? whole : downsample(whole, f);
      });
      const div = (r: Region) => ({ x: r.x / f, y: r.y / f, width: Math.floor(r.width / f), height: Math.floor(r.height / f) });
      tiles.push({ box: div(t.box), owned: div(t.owned), comir });
    }
    if (aligned) return assembleRegion(part, tiles);
    return downsample(assembleRegion(region, tiles), factor);
  }

  /** The slide's pixels over `region` (working pixels), resampled to it: what structure is computed from. */
  async pixels(image: Image, modality: ModalityWithModel, region: Region) {
    const scale = workingScale(image, modality);
    const pyramid = image.pyramid as unknown as PyramidInfo;
    const source = { x: region.x / scale, y: region.y / scale, width: region.width / scale, height: region.height / scale };
    return readRegion(this.files.pathOf(image.sha256), pyramid, source, { size: { width: region.width, height: region.height } });
  }

  /** Tiles stored for an image under its modality's current model. */
  async tileCount(image: Image): Promise<number> {
    const modality = await this.representations.modality(image.modalityId);
    return this.tiles.count(image.id, tileVersion(modality));
  }
}

/** Whether a file starts like a TIFF or BigTIFF (II*\0, MM\0*, II+\0, MM\0+). */
async function isTiff(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const b = Buffer.alloc(4);
    // a folder opens but cannot be read (EISDIR): not a TIFF; the caller's read then says why (issue 19)
    const { bytesRead } = await fh.read(b, 0, 4, 0).catch(() => ({ bytesRead: 0 }));
    if (bytesRead < 4) return false;
    const magic = b.toString('latin1', 0, 2);
    const version = magic === 'II' ? b.readUInt16LE(2) : magic === 'MM' ? b.readUInt16BE(2) : 0;
    return version === 42 || version === 43;
  } finally {
    await fh.close();
  }
}

/** Tiles are of one model version (the raw space has none). */
function tileVersion(modality: ModalityWithModel): string {
  return modality.comirModel?.version ?? 'raw';
}

/** The pyramid as stored on the row (plain JSON). */
function pyramidJson(p: PyramidInfo): P.InputJsonObject {
  return JSON.parse(JSON.stringify(p)) as P.InputJsonObject;
}

/**
 * The slide's pixel size: the file's, checked against a declared one (within PIXEL_SIZE_TOLERANCE), or the declared
 * one when the file has none. Neither: BAD_USER_INPUT, since tiles are cut at the model's resolution in micrometres.
 */
export function resolvePixelSize(p: Pick<PyramidInfo, 'micronsPerPixel' | 'pixelSizeSource'>, declared: number | null): number {
  const own = p.micronsPerPixel;
  if (own !== null && declared !== null && Math.abs(declared - own) / own > PIXEL_SIZE_TOLERANCE) {
    throw new BadUserInputError(
      `the declared pixel size ${declared} um differs from the slide's own ${own} um (${p.pixelSizeSource}) by more than ${PIXEL_SIZE_TOLERANCE * 100} %`,
      { declared, micronsPerPixel: own },
    );
  }
  const mpp = own ?? declared;
  if (mpp === null) {
    throw new BadUserInputError('the slide does not say its pixel size (no OME PhysicalSizeX, SVS MPP or TIFF resolution): give micronsPerPixel', {
      parameter: 'micronsPerPixel',
    });
  }
  return mpp;
}
