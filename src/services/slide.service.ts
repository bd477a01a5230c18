import type { Prisma as P, Slide } from '../db/generated/client.ts';
import type { MetadataMatchRow, SlideRepository } from '../db/slide.repository.ts';
import { BadUserInputError, containsNul, invalidParameter, NotFoundError } from '../errors.ts';
import { type Page, pageOf, validatePageArgs } from './pagination.ts';

export function validateSlideName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200 || containsNul(name)) {
    throw invalidParameter('slide', 'a non-empty name of at most 200 characters, without U+0000 (NUL)', name);
  }
  return name.trim();
}

function validateMetadata(metadata: unknown): Record<string, unknown> {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw invalidParameter('metadata', 'a JSON object', metadata);
  }
  if (containsNul(metadata)) throw new BadUserInputError('metadata may not hold the character U+0000 (NUL), in a key or a value');
  return metadata as Record<string, unknown>;
}

/** Bounds of a metadata filter: what a person types, not a query language (keys as slide metadata allows). */
export const METADATA_MATCH_LIMITS = { matches: 20, keyLength: 200, valueLength: 1000 } as const;

export interface MetadataMatch {
  key: string;
  value: string;
}

/**
 * key = value pairs of a filter, checked, each with the JSON values it matches: the text itself, and the number or
 * boolean it reads as (metadata set from JSON holds `"age": 54`, a person types "54").
 */
export function metadataMatches(matches: readonly MetadataMatch[] | null | undefined): MetadataMatchRow[] {
  if (!matches?.length) return [];
  if (matches.length > METADATA_MATCH_LIMITS.matches) throw invalidParameter('metadata', `at most ${METADATA_MATCH_LIMITS.matches} key = value pairs`, matches.length);
  return matches.map(({ key, value }) => {
    if (key.trim() === '' || key.length > METADATA_MATCH_LIMITS.keyLength || containsNul(key)) {
      throw invalidParameter('metadata key', `a non-empty key of at most ${METADATA_MATCH_LIMITS.keyLength} characters, without U+0000 (NUL)`, key);
    }
    if (value.length > METADATA_MATCH_LIMITS.valueLength || containsNul(value)) {
      throw invalidParameter('metadata value', `at most ${METADATA_MATCH_LIMITS.valueLength} characters, without U+0000 (NUL)`, value);
    }
    const values: (string | number | boolean)[] = [value];
    const trimmed = value.trim();
    if (trimmed !== '' && Number.isFinite(Number(trimmed))) values.push(Number(trimmed));
    if (trimmed === 'true' || trimmed === 'false') values.push(trimmed === 'true');
    return { key: key.trim(), values };
  });
}

export interface SlideFilter {
  /** A substring of the name, case-insensitive. */
  name?: string | null;
  metadata?: readonly MetadataMatch[] | null;
}

export class SlideService {
  constructor(private readonly slides: SlideRepository) {}

  async get(id: number): Promise<Slide> {
    const slide = await this.slides.findById(id);
    if (!slide) throw new NotFoundError('Slide', id);
    return slide;
  }

  async list(args: { first?: number | null; after?: string | null }, filter: SlideFilter = {}): Promise<Page<Slide>> {
    const { first, afterId } = validatePageArgs(args);
    const where = { nameContains: filter.name?.trim() || undefined, metadata: metadataMatches(filter.metadata) };
    const [rows, totalCount] = await Promise.all([this.slides.page(where, first + 1, afterId), this.slides.count(where)]);
    return pageOf(rows, first, totalCount, afterId !== undefined);
  }

  async create(input: { name: string; metadata?: unknown }): Promise<Slide> {
    const name = validateSlideName(input.name);
    const metadata = validateMetadata(input.metadata ?? {});
    if (await this.slides.findByName(name)) {
      throw new BadUserInputError(`a slide named ${JSON.stringify(name)} already exists`, { name });
    }
    return this.slides.create({ name, metadata: metadata as P.InputJsonObject });
  }

  /** Merge (default): keys are set, a null value deletes its key. Replace: the object becomes the metadata. */
  async updateMetadata(id: number, metadata: unknown, merge = true): Promise<Slide> {
    const patch = validateMetadata(metadata);
    const slide = await this.get(id);
    let next: Record<string, unknown> = patch;
    if (merge) {
      next = { ...(slide.metadata as Record<string, unknown>) };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete next[k];
        else next[k] = v;
      }
    }
    return this.slides.updateMetadata(id, next as P.InputJsonObject);
  }
}
