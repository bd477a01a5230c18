import type { Prisma as P, Slide } from '../db/generated/client.ts';
import type { SlideRepository } from '../db/slide.repository.ts';
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

export class SlideService {
  constructor(private readonly slides: SlideRepository) {}

  async get(id: number): Promise<Slide> {
    const slide = await this.slides.findById(id);
    if (!slide) throw new NotFoundError('Slide', id);
    return slide;
  }

  async list(args: { first?: number | null; after?: string | null }): Promise<Page<Slide>> {
    const { first, afterId } = validatePageArgs(args);
    const [rows, totalCount] = await Promise.all([this.slides.page(first + 1, afterId), this.slides.count()]);
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
