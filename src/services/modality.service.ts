import type { Modality } from '../db/generated/client.ts';
import type { ModalityRepository } from '../db/modality.repository.ts';
import type { Tx } from '../db/image.repository.ts';
import { AppError, echo, ForbiddenError, invalidParameter, NotFoundError } from '../errors.ts';
import { NORMALIZATIONS, type Normalization } from '../pipeline/decode/decode.ts';

/**
 * Modality names: short identifiers, as used in file names and CLI flags (SHG, BF, NIR, RGB, CT-MRI ...). They are
 * case-insensitive: `bf` is the modality `BF` (lookups and a unique index on lower(name), migration
 * 20261203000000_modality_name_ci); a modality keeps the spelling it was created with.
 */
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/**
 * Defaults for modalities created on first use. SHG is log(1+x)-normalised as in the reference CoMIR training
 * (reference-pipeline.md section 2, "Preprocessing"); every other modality is linear.
 */
const KNOWN: Record<string, { normalization: Normalization }> = { SHG: { normalization: 'log1p' } };
const knownNormalization = (name: string) => KNOWN[name.toUpperCase()]?.normalization;

/** Another spelling of an existing modality's name (names are case-insensitive). */
export class ModalityExistsError extends AppError {
  constructor(name: string, existing: string) {
    super(
      'CONFLICT',
      existing === name
        ? `modality ${existing} already exists`
        : `modality ${echo(name)} already exists as ${existing} (modality names are case-insensitive)`,
      { name: echo(name), existing },
    );
  }
}

/** An ingestion that would create a modality, by a caller that may not (docs/adr/0014: modalities are the admin's). */
export class ModalityCreationForbiddenError extends ForbiddenError {
  constructor(name: string) {
    super(`modality ${echo(name)} does not exist, and creating a modality needs the admin role: ask an admin to create it (createModality) or ingest as an admin`, {
      requiredRole: 'admin',
      modality: echo(name),
    });
  }
}

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
    const normalization = input.normalization ?? knownNormalization(name) ?? 'linear';
    if (!NORMALIZATIONS.includes(normalization)) {
      throw invalidParameter('normalization', NORMALIZATIONS.join(' or '), normalization);
    }
    const existing = await this.modalities.findByName(name);
    if (existing) throw new ModalityExistsError(name, existing.name);
    try {
      return await this.modalities.create(name, { channels, normalization });
    } catch (e) {
      // created by another request since the check (the unique index on lower(name) decides)
      const winner = (e as { code?: string }).code === 'P2002' ? await this.modalities.findByName(name) : null;
      if (winner) throw new ModalityExistsError(name, winner.name);
      throw e;
    }
  }

  /**
   * Refuses, before anything is decoded or written, an ingestion that would create a modality when the caller may not
   * (`create` false: the GraphQL resolver for a key below admin). The transaction checks again (`ensure`).
   */
  async assertUsable(name: string, create: boolean): Promise<void> {
    if (!create && !(await this.modalities.findByName(name))) throw new ModalityCreationForbiddenError(name);
  }

  /**
   * The modality by name, created with defaults (channels of the first image) when it is new. An existing modality's
   * channels are not compared with the image's: its CoMIR network converts grey and RGB (representation.service.ts
   * matchChannels), and without a network every image is used as grey. With `create` false a new name is refused
   * (ModalityCreationForbiddenError) instead. Concurrent first images of one new modality share it (findOrCreate).
   */
  async ensure(tx: Tx, name: string, channels: number, create = true): Promise<Modality> {
    if (!create) {
      const existing = await this.modalities.findByName(name, tx);
      if (!existing) throw new ModalityCreationForbiddenError(name);
      return existing;
    }
    return this.modalities.findOrCreate(tx, name, { channels, normalization: knownNormalization(name) ?? 'linear' });
  }
}
