import type { ComirModel as ComirModelRow, Image, Modality } from '../db/generated/client.ts';
import type { Prisma } from '../db/database.ts';
import { decodeImage, encodeGreyPng, normalize, type Normalization, toGrey } from '../pipeline/decode/decode.ts';
import type { GreyImage, PlanarImage } from '../pipeline/types.ts';
import type { Config } from '../config.ts';
import type { FileStore } from '../db/file-store.ts';
import { downsample, workingImage } from '../pipeline/rerank/correlate.ts';
import { markNoData } from '../pipeline/decode/nodata.ts';
import type { PipelineThreads } from '../pipeline/threads/pool.ts';
import { ReducedCache } from './reduced-cache.ts';
import { ModalityRepository } from '../db/modality.repository.ts';

/** A modality with its CoMIR model row, if it has one. */
export type ModalityWithModel = Modality & { comirModel: ComirModelRow | null };

/**
 * Where retrieval happens for a modality: its CoMIR space ("comir:<model>@<version>"), where images of both modalities
 * of the model pair meet, or raw grey pixels ("raw") when it has no model.
 */
export function representationSpace(modality: ModalityWithModel): string {
  return modality.comirModel ? `comir:${modality.comirModel.name}@${modality.comirModel.version.slice(0, 12)}` : 'raw';
}

/**
 * Turns pixels into the single-channel image that features are computed on: the modality's CoMIR when it has a model
 * (sigmoid output in [0,1]), otherwise its normalised grey pixels. The CoMIR and the no-data mask are computed on the
 * pipeline's worker threads (pipeline/threads, docs/adr/0020), each of which loads a model once, on first use (immich's
 * lazy `InferenceModel.load()`).
 */
export class RepresentationService {
  private readonly reducedCache: ReducedCache;
  private readonly modalityRows: ModalityRepository;

  constructor(
    private readonly config: Config,
    private readonly prisma: Prisma,
    private readonly files: FileStore,
    private readonly threads: PipelineThreads,
  ) {
    this.reducedCache = new ReducedCache(config.correlationCacheBytes);
    this.modalityRows = new ModalityRepository(prisma);
  }

  async modality(id: number): Promise<ModalityWithModel> {
    return this.prisma.modality.findUniqueOrThrow({ where: { id }, include: { comirModel: true } });
  }

  /** By name in any case (ModalityRepository.findByName). */
  async modalityByName(name: string): Promise<ModalityWithModel | null> {
    return this.modalityRows.findByName(name);
  }

  /**
   * Loads the CoMIR model of every modality that has one on the pipeline's worker thread (where searches run it, so a
   * later search does not load it again); resolves with the models' `name@version` (12 hex digits), rejects with the
   * first failure.
   */
  async loadModels(): Promise<string[]> {
    const rows = new Map<string, ComirModelRow>();
    for (const m of (await this.modalityRows.findAll()) as ModalityWithModel[]) if (m.comirModel) rows.set(m.comirModel.dir, m.comirModel);
    const loaded: string[] = [];
    for (const row of rows.values()) {
      const label = `${row.name}@${row.version.slice(0, 12)}`;
      await this.threads.loadModel(row.dir).catch((e: unknown) => {
        throw new Error(`CoMIR model ${label} could not be loaded`, { cause: e });
      });
      loaded.push(label);
    }
    return loaded.sort();
  }

  /** The grey image retrieval works on, from decoded pixels of this modality (a CoMIR: on a worker thread). */
  async compute(modality: ModalityWithModel, pixels: PlanarImage): Promise<GreyImage> {
    if (modality.comirModel && modality.comirNetwork) return this.threads.representation(modality.comirModel.dir, modality.comirNetwork, pixels);
    return toGrey(normalize(pixels, modality.normalization as Normalization));
  }

  /**
   * Where decoded pixels have data, given their no-data value (pipeline/decode/nodata.ts noDataMask, on a worker
   * thread); null when all are data.
   */
  noDataMask(pixels: PlanarImage, value: number, bitDepth: number): Promise<Uint8Array | null> {
    return this.threads.noDataMask(pixels, value, bitDepth);
  }

  /** The modality's normalised grey pixels: what structure (pipeline/rerank/structure.ts) is computed from. */
  grey(modality: Pick<ModalityWithModel, 'normalization'>, pixels: PlanarImage): GreyImage {
    return toGrey(normalize(pixels, modality.normalization as Normalization));
  }

  /** A stored image's representation: its stored CoMIR when there is one for the current model, else computed. */
  async ofImage(image: Image, modality?: ModalityWithModel): Promise<GreyImage> {
    const m = modality ?? (await this.modality(image.modalityId));
    if (m.comirModel) {
      const stored = await this.prisma.representation.findUnique({
        where: { imageId_modelVersion: { imageId: image.id, modelVersion: m.comirModel.version } },
      });
      if (stored) {
        const { image: png } = await decodeImage(await this.files.read(stored.sha256), { maxPixels: this.config.maxPixels });
        return toGrey(png);
      }
    }
    return this.compute(m, await this.original(image));
  }

  /**
   * A stored image's representation box-downsampled by `factor` (pipeline/rerank/correlate.ts downsample), from a bounded
   * in-memory cache keyed by image, representation space and factor (image ids are never reused, and a new model
   * version is a new space).
   */
  reduced(image: Image, modality: ModalityWithModel, factor: number): Promise<GreyImage> {
    const key = `${image.id}|${representationSpace(modality)}|${factor}`;
    return this.reducedCache.get(key, async () => downsample(await this.withNoData(image, await this.ofImage(image, modality)), factor));
  }

  /**
   * A stored image's structure at a working scale: the gradient magnitude of its grey pixels (pipeline/rerank/structure.ts),
   * NaN where it declared no data; cached like reduced().
   */
  structure(image: Image, modality: ModalityWithModel, factor: number): Promise<GreyImage> {
    const key = `${image.id}|structure:${modality.normalization}|${factor}`;
    return this.reducedCache.get(key, async () => {
      const pixels = await this.original(image);
      return workingImage(await this.masked(image, pixels, this.grey(modality, pixels)), factor, 'gradient');
    });
  }

  /**
   * Stores the CoMIR of an image under its modality's current model when it has none yet (an image ingested before
   * that model version: reindex), so searches read it instead of computing it again. File first, then its row; a row
   * that fails removes the file it wrote.
   */
  async ensureStored(image: Image, modality: ModalityWithModel): Promise<void> {
    const model = modality.comirModel;
    if (!model) return;
    const where = { imageId_modelVersion: { imageId: image.id, modelVersion: model.version } };
    if (await this.prisma.representation.findUnique({ where, select: { id: true } })) return;
    const put = await this.files.put(await encodeGreyPng(await this.compute(modality, await this.original(image))));
    try {
      await this.prisma.representation.upsert({
        where,
        create: { imageId: image.id, modelName: model.name, modelVersion: model.version, width: image.width, height: image.height, sha256: put.sha256 },
        update: {},
      });
    } catch (e) {
      if (put.created) await this.files.remove(put.sha256);
      throw e;
    }
  }

  /** A stored image's representation with NaN where it declared no data (what the first stage describes). */
  async withoutData(image: Image, modality: ModalityWithModel): Promise<GreyImage> {
    return this.withNoData(image, await this.ofImage(image, modality));
  }

  /** The representation with NaN where the image declared no data (pipeline/decode/nodata.ts); as is otherwise. */
  private async withNoData(image: Image, representation: GreyImage): Promise<GreyImage> {
    return image.noDataValue == null ? representation : this.masked(image, await this.original(image), representation);
  }

  private async masked(image: Image, pixels: PlanarImage, img: GreyImage): Promise<GreyImage> {
    const valid = image.noDataValue == null ? null : await this.noDataMask(pixels, image.noDataValue, image.bitDepth);
    return valid ? markNoData(img, valid) : img;
  }

  private async original(image: Image): Promise<PlanarImage> {
    return (await decodeImage(await this.files.read(image.sha256), { maxPixels: this.config.maxPixels, page: image.page })).image;
  }
}

