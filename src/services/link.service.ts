import type { Link, LinkStatus } from '../db/generated/client.ts';
import type { ImageRepository } from '../db/image.repository.ts';
import type { LinkRepository } from '../db/link.repository.ts';
import { BadUserInputError, invalidParameter, NotFoundError } from '../errors.ts';
import type { Region } from '../pipeline/types.ts';

export interface LinkInput {
  sourceId: number;
  targetId: number;
  region?: Region | null;
  transform?: readonly number[] | null;
  score?: number | null;
  method?: string | null;
  createdBy?: string | null;
}

const STATUSES: readonly LinkStatus[] = ['PROPOSED', 'CONFIRMED', 'REJECTED'];

/** The affine that maps a source image of w x h onto a target region (scale + translation, no rotation). */
export function regionTransform(region: Region, sourceWidth: number, sourceHeight: number): number[] {
  return [region.width / sourceWidth, 0, region.x, 0, region.height / sourceHeight, region.y];
}

/** The source's corners mapped by a 2x3 affine: its footprint polygon in target pixels. */
export function footprint(transform: readonly number[], width: number, height: number): [number, number][] {
  const [a, b, c, d, e, f] = transform;
  return [
    [0, 0],
    [width, 0],
    [width, height],
    [0, height],
  ].map(([x, y]) => [a * x + b * y + c, d * x + e * y + f] as [number, number]);
}

/** Links: the users' main workflow, turning a search match into a recorded, reviewable correspondence. */
export class LinkService {
  constructor(
    private readonly links: LinkRepository,
    private readonly images: ImageRepository,
  ) {}

  async get(id: number): Promise<Link> {
    const link = await this.links.findById(id);
    if (!link) throw new NotFoundError('Link', id);
    return link;
  }

  /** Proposes a link from an acquisition to a target image; the target's slide is recorded with it. */
  async link(input: LinkInput): Promise<Link> {
    if (input.sourceId === input.targetId) throw new BadUserInputError('an image cannot be linked to itself');
    const [source, target] = await Promise.all([this.images.findById(input.sourceId), this.images.findById(input.targetId)]);
    if (!source) throw new NotFoundError('Image', input.sourceId);
    if (!target) throw new NotFoundError('Image', input.targetId);
    const region = input.region ?? null;
    if (region) {
      for (const k of ['x', 'y', 'width', 'height'] as const) {
        if (!Number.isFinite(region[k])) throw invalidParameter(`region.${k}`, 'a finite number', region[k]);
      }
      if (region.width <= 0 || region.height <= 0) throw invalidParameter('region', 'a positive width and height', `${region.width}x${region.height}`);
    }
    let transform = input.transform ? [...input.transform] : null;
    if (transform && (transform.length !== 6 || !transform.every(Number.isFinite))) {
      throw invalidParameter('transform', 'six finite numbers (a 2x3 affine, row-major)', JSON.stringify(transform));
    }
    if (!transform) transform = region ? regionTransform(region, source.width, source.height) : [1, 0, 0, 0, 1, 0];
    const polygon = region || input.transform ? footprint(transform, source.width, source.height) : null;
    return this.links.create({
      sourceId: source.id,
      targetImageId: target.id,
      targetSlideId: target.slideId,
      transform,
      region: polygon ?? undefined,
      score: input.score ?? null,
      method: input.method ?? 'manual',
      createdBy: input.createdBy ?? null,
      status: 'PROPOSED',
    });
  }

  async setStatus(id: number, status: LinkStatus, decidedBy?: string | null): Promise<Link> {
    if (!STATUSES.includes(status)) throw invalidParameter('status', STATUSES.join(', '), status);
    await this.get(id);
    return this.links.setStatus(id, status, decidedBy ?? null);
  }
}
