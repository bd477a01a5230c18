import type { Prisma } from '../db/database.ts';
import type { Link, LinkStatus } from '../db/generated/client.ts';
import type { ImageRepository } from '../db/image.repository.ts';
import type { LinkRepository } from '../db/link.repository.ts';
import { BadUserInputError, containsNul, invalidParameter, NotFoundError } from '../errors.ts';
import type { Region } from '../pipeline/types.ts';
import type { AuditService } from './audit.service.ts';
import type { Actor } from './auth.ts';

export interface LinkInput {
  sourceId: number;
  targetId: number;
  region?: Region | null;
  transform?: readonly number[] | null;
  score?: number | null;
  method?: string | null;
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

/** What the audit trail keeps of a link: its status and who proposed and decided it. */
function linkState(link: Link) {
  return { status: link.status, createdBy: link.createdBy, decidedBy: link.decidedBy, decidedAt: link.decidedAt };
}

/** Links: the users' main workflow, turning a search match into a recorded, reviewable correspondence. */
export class LinkService {
  constructor(
    private readonly prisma: Prisma,
    private readonly links: LinkRepository,
    private readonly images: ImageRepository,
    private readonly audit: AuditService,
  ) {}

  async get(id: number): Promise<Link> {
    const link = await this.links.findById(id);
    if (!link) throw new NotFoundError('Link', id);
    return link;
  }

  /**
   * Proposes a link from an acquisition to a target image; the target's slide is recorded with it. `createdBy` is the
   * actor's name (the API key's, or the CLI's), and the creation is in the audit trail, in the same transaction.
   */
  async link(input: LinkInput, actor: Actor): Promise<Link> {
    if (input.sourceId === input.targetId) throw new BadUserInputError('an image cannot be linked to itself');
    if (containsNul(input.method)) throw invalidParameter('method', 'a name without the character U+0000 (NUL)', input.method);
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
    return this.prisma.$transaction(async (tx) => {
      const link = await this.links.create(tx, {
        sourceId: source.id,
        targetImageId: target.id,
        targetSlideId: target.slideId,
        transform,
        region: polygon ?? undefined,
        score: input.score ?? null,
        method: input.method ?? 'manual',
        createdBy: actor.name,
        status: 'PROPOSED',
      });
      await this.audit.record(tx, actor, { action: 'linkAcquisition', targetType: 'Link', targetId: link.id, after: linkState(link) });
      return link;
    });
  }

  /**
   * Decides a link: its status, who (the actor's name) and when. The decision before it stays in the audit trail
   * (`Link.history`), written in the same transaction with the status before and after.
   */
  async setStatus(id: number, status: LinkStatus, actor: Actor): Promise<Link> {
    if (!STATUSES.includes(status)) throw invalidParameter('status', STATUSES.join(', '), status);
    return this.prisma.$transaction(async (tx) => {
      const before = await this.links.findForUpdate(tx, id);
      if (!before) throw new NotFoundError('Link', id);
      const after = await this.links.setStatus(tx, id, status, actor.name);
      await this.audit.record(tx, actor, { action: 'setLinkStatus', targetType: 'Link', targetId: id, before: linkState(before), after: linkState(after) });
      return after;
    });
  }
}
