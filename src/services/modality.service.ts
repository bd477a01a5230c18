import type { Modality } from '../db/generated/client.ts';
import type { ModalityRepository } from '../db/modality.repository.ts';
import type { Tx } from '../db/image.repository.ts';
import { BadUserInputError, invalidParameter, NotFoundError } from '../errors.ts';
import { NORMALIZATIONS, type Normalization } from '../pipeline/decode/decode.ts';

/** Modality names: short identifiers, as used in file names and CLI flags (SHG, BF, NIR, RGB, CT-MRI ...). */
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/**
 * Defaults for modalities created on first use. SHG is log(1+x)-normalised as in the reference CoMIR training
 * (reference-pipeline.md section 2, "Preprocessing"); every other modality is linear.
 */
const KNOWN: Record<string, { normalization: Normalization }> = { SHG: { normalization: 'log1p' } };

export function validateModalityName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalidParameter('modality', 'a name of 1-32 letters, digits, - or _, starting with a letter', name);
  }
  return name;
}

export class ModalityService {
  constructor(private readonly modalities: ModalityRepository) {}

  list(): Promise<Modality[]> {
    return this.modalities.findAll();
  }

  async getByName(name: string): Promise<Modality> {
    const m = await this.modalities.findByName(validateModalityName(name));
    if (!m) throw new NotFoundError('Modality', name);
    return m;
  }

  async create(input: { name: string; channels?: number; normalization?: Normalization }): Promise<Modality> {
    const name = validateModalityName(input.name);
    const channels = input.channels ?? 1;
    if (channels !== 1 && channels !== 3) throw invalidParameter('channels', '1 or 3', channels);
    const normalization = input.normalization ?? KNOWN[name]?.normalization ?? 'linear';
    if (!NORMALIZATIONS.includes(normalization)) {
      throw invalidParameter('normalization', NORMALIZATIONS.join(' or '), normalization);
    }
    if (await this.modalities.findByName(name)) throw new BadUserInputError(`modality ${name} already exists`);
    return this.modalities.create(name, { channels, normalization });
  }

  /**
   * The modality by name, created with defaults (channels of the first image) when it is new. An existing modality's
   * channels are not compared with the image's: its CoMIR network converts grey and RGB (representation.service.ts
   * matchChannels), and without a network every image is used as grey.
   */
  ensure(tx: Tx, name: string, channels: number): Promise<Modality> {
    return this.modalities.upsertByName(tx, name, {
      channels,
      normalization: KNOWN[name]?.normalization ?? 'linear',
    });
  }
}
