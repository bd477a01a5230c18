import { createHash } from 'node:crypto';
import { ModalityRepository } from '../db/modality.repository.ts';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ComirModel as ComirModelRow, Modality, Prisma as P } from '../db/generated/client.ts';
import type { Prisma } from '../db/database.ts';
import { invalidParameter } from '../errors.ts';
import { loadComirModel } from '../pipeline/comir/comir.ts';
import { validateModalityName } from './modality.service.ts';

export interface RegisteredModel {
  model: ComirModelRow;
  modalities: Modality[];
}

/**
 * CoMIR model pairs: a folder with two ONNX networks and a manifest (training/README.md). Registering one validates
 * it (sha256 of every file, channels, normalisation) and maps each of its networks to a cmir modality, whose images
 * from then on are searched in the pair's shared representation space.
 */
export class ModelService {
  private readonly modalityRows: ModalityRepository;

  constructor(private readonly prisma: Prisma) {
    this.modalityRows = new ModalityRepository(prisma);
  }

  list(): Promise<ComirModelRow[]> {
    return this.prisma.comirModel.findMany({ orderBy: { id: 'asc' } });
  }

  /**
   * Registers the model in `dir`. Its networks map to modalities named by `mapping` (manifest name -> modality, or
   * -> a list of modalities that share the network), by default the network's `serves` list in the manifest, else its
   * name in upper case (shg -> SHG). Each modality takes its network's channels and
   * normalisation, also when it has images. A model whose manifest or files are invalid is refused with MODEL_INVALID
   * and nothing changes.
   */
  async register(dir: string, mapping: Record<string, string | string[]> = {}): Promise<RegisteredModel> {
    const absolute = path.resolve(dir);
    const model = await loadComirModel(absolute); // validates the manifest and every file's sha256
    const manifestText = await readFile(path.join(absolute, 'manifest.json'));
    const version = createHash('sha256').update(manifestText).digest('hex');
    for (const [key, value] of Object.entries(mapping)) {
      if (!model.manifest.modalities.some((m) => m.name === key)) {
        throw invalidParameter('mapping', `one of the model's networks (${model.modalities.join(', ')})`, key);
      }
      const names = Array.isArray(value) ? value : [value];
      if (names.length === 0 || names.some((n) => typeof n !== 'string')) {
        throw invalidParameter(`mapping.${key}`, 'a modality name or a non-empty list of them', value);
      }
    }
    // One network may serve several modalities (mri-ct's `other` network: CT, PET and SPECT).
    const targets = model.manifest.modalities.flatMap((m) => {
      const value = mapping[m.name] ?? m.serves ?? m.name.toUpperCase();
      return [...new Set(Array.isArray(value) ? value : [value])].map((name) => ({ network: m, name: validateModalityName(name) }));
    });
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.comirModel.upsert({
        where: { name_version: { name: model.manifest.pair, version } },
        create: { name: model.manifest.pair, version, dir: absolute, manifest: model.manifest as unknown as P.InputJsonObject },
        update: { dir: absolute },
      });
      const modalities: Modality[] = [];
      for (const { network, name } of targets) {
        // The modality takes the network's channels and normalisation even when it has images: a model version is
        // a new representation space (representationSpace), so no stored CoMIR or vocabulary of the old space is
        // read under the new rule; the old ones stay with their version.
        const data = {
          comirModelId: row.id,
          comirNetwork: network.name,
          channels: network.input.channels,
          normalization: network.input.normalization,
        };
        // by name in any case: a mapping to `shg` takes the modality SHG
        const modality = await this.modalityRows.findOrCreate(tx, name, data);
        modalities.push(await this.modalityRows.update(tx, modality.id, data));
      }
      return { model: row, modalities };
    });
  }

  /**
   * Registers every model folder under `root` whose manifest version is not registered yet (the shipped models at
   * start-up). A broken folder is reported and skipped, so one bad model does not keep the server down.
   */
  async registerAll(root: string, warn: (message: string) => void = console.warn): Promise<RegisteredModel[]> {
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    const known = new Set((await this.list()).map((m) => `${m.name}@${m.version}`));
    const out: RegisteredModel[] = [];
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const dir = path.join(root, e.name);
      const text = await readFile(path.join(dir, 'manifest.json')).catch(() => null);
      if (!text) continue;
      const version = createHash('sha256').update(text).digest('hex');
      const pair = (JSON.parse(text.toString('utf8')) as { pair?: string }).pair;
      if (known.has(`${pair}@${version}`)) continue;
      try {
        out.push(await this.register(dir));
      } catch (err) {
        warn(`[cmir] model ${dir} not registered: ${(err as Error).message}`);
      }
    }
    return out;
  }
}
