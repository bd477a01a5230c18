import { EventEmitter } from 'node:events';
import { isUniqueViolation, type Prisma } from '../db/database.ts';
import type { Link, LinkStatus } from '../db/generated/client.ts';
import type { ImageRepository } from '../db/image.repository.ts';
import type { LinkCounts, LinkFilterRow, LinkRepository } from '../db/link.repository.ts';
import type { ModalityRepository } from '../db/modality.repository.ts';
import { BadUserInputError, containsNul, invalidParameter, NotFoundError } from '../errors.ts';
import { clipToRect, polygonArea } from '../pipeline/rerank/geometry.ts';
import type { Region } from '../pipeline/types.ts';
import type { AuditService } from './audit.service.ts';
import type { Actor } from './auth.ts';
import { type Page, pageOf, validatePageArgs } from './pagination.ts';
import { watch } from './watch.ts';

/** What the review queries filter by: modalities by name (case-insensitive), the slide by its row id. */
export interface LinkFilter {
  status?: LinkStatus | null;
  slideId?: number | null;
  sourceModality?: string | null;
  targetModality?: string | null;
  createdAfter?: Date | null;
}

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

/**
 * The source's footprint under `transform`, clipped to the target image ([0, width] x [0, height]), rounded to 1/1000
 * px so that the same link asked twice is stored (and found) as the same region. A footprint wholly outside the target
 * is bad input.
 */
function clippedFootprint(
  transform: readonly number[],
  source: { width: number; height: number },
  target: { width: number; height: number },
): [number, number][] {
  const bounds = { x: 0, y: 0, width: target.width, height: target.height };
  const clipped = clipToRect(footprint(transform, source.width, source.height), bounds)
    .map(([x, y]) => [Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000] as [number, number])
    // a corner on the image's edge comes out twice (once kept, once cut there)
    .filter(([x, y], i, all) => x !== all.at(i - 1)![0] || y !== all.at(i - 1)![1]);
  if (clipped.length < 3 || Math.abs(polygonArea(clipped)) === 0) {
    throw new BadUserInputError(`the region lies outside the target image (${target.width} x ${target.height} px)`, {
      parameter: 'region',
    });
  }
  return clipped;
}

/** What the audit trail keeps of a link: its status and who proposed and decided it. */
/** A review comment's length bound: a paragraph a person types, not a document. */
export const LINK_COMMENT_MAX = 2000;

function linkState(link: Link) {
  return { status: link.status, createdBy: link.createdBy, decidedBy: link.decidedBy, decidedAt: link.decidedAt, comment: link.comment };
}

/** Links: the users' main workflow, turning a search match into a recorded, reviewable correspondence. */
export class LinkService {
  /** Each link this process creates, once committed (not a link asked for again): what `linkCreated` pushes. */
  readonly created = new EventEmitter<{ link: [Link] }>().setMaxListeners(0);

  constructor(
    private readonly prisma: Prisma,
    private readonly links: LinkRepository,
    private readonly images: ImageRepository,
    private readonly audit: AuditService,
    private readonly modalities: ModalityRepository,
  ) {}

  /** A page of links matching every given filter, oldest first, with the number that match (the review queue). */
  async list(filter: LinkFilter, args: { first?: number | null; after?: string | null }): Promise<Page<Link>> {
    const { first, afterId } = validatePageArgs(args);
    const where = await this.rowFilter(filter);
    const [rows, totalCount] = await Promise.all([this.links.page(where, first + 1, afterId), this.links.count(where)]);
    return pageOf(rows, first, totalCount, afterId !== undefined);
  }

  /** Each link created from now on that matches the filter (`linkCreated`); the filter is checked before anything is sent. */
  async watch(filter: LinkFilter): Promise<AsyncIterableIterator<Link>> {
    const where = await this.rowFilter(filter);
    const any = Object.values(where).every((v) => v === undefined);
    return watch<Link>(this.created, 'link', { keep: any ? undefined : (link) => this.links.matches(link.id, where) });
  }

  /** A filter checked and turned into the repository's terms (modalities by id). */
  private async rowFilter(filter: LinkFilter): Promise<LinkFilterRow> {
    if (filter.status != null && !STATUSES.includes(filter.status)) throw invalidParameter('status', STATUSES.join(', '), filter.status);
    if (filter.createdAfter != null && !Number.isFinite(filter.createdAfter.getTime())) {
      throw invalidParameter('createdAfter', 'a date-time', String(filter.createdAfter));
    }
    // an unknown modality matches no link, as in images(filter: { modality })
    const modalityId = async (name: string | null | undefined) => (name ? ((await this.modalities.findByName(name))?.id ?? -1) : undefined);
    return {
      status: filter.status ?? undefined,
      targetSlideId: filter.slideId ?? undefined,
      sourceModalityId: await modalityId(filter.sourceModality),
      targetModalityId: await modalityId(filter.targetModality),
      createdAfter: filter.createdAfter ?? undefined,
    };
  }

  /** How many links there are in each status, of every link. */
  counts(): Promise<LinkCounts> {
    return this.links.countByStatus();
  }

  /** How many links there are in each status onto each of these slides (for a DataLoader). */
  countsForSlides(slideIds: readonly number[]): Promise<Map<number, LinkCounts>> {
    return this.links.countByStatusForSlides(slideIds);
  }

  async get(id: number): Promise<Link> {
    const link = await this.links.findById(id);
    if (!link) throw new NotFoundError('Link', id);
    return link;
  }

  /**
   * Proposes a link from an acquisition to a target image; the target's slide is recorded with it. `createdBy` is the
   * actor's name (the API key's, or the CLI's), and the creation is in the audit trail, in the same transaction.
   *
   * The stored region (the source's footprint) is clipped to the target image's bounds. Linking is idempotent per
   * (source, target, stored region): when that link exists, it is returned as it is (whatever its status) and nothing
   * is written; a unique index makes this hold for two requests at once too (docs/adr/0017).
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
    const polygon = region || input.transform ? clippedFootprint(transform, source, target) : null;
    const existing = await this.links.findSame(source.id, target.id, polygon);
    if (existing) return existing;
    try {
      const link = await this.create(source.id, target, transform, polygon, input, actor);
      this.created.emit('link', link);
      return link;
    } catch (e) {
      // another request stored the same link between our look-up and our insert: the unique index refused ours
      const winner = isUniqueViolation(e) ? await this.links.findSame(source.id, target.id, polygon) : null;
      if (winner) return winner;
      throw e;
    }
  }

  private create(
    sourceId: number,
    target: { id: number; slideId: number | null },
    transform: number[],
    polygon: [number, number][] | null,
    input: LinkInput,
    actor: Actor,
  ): Promise<Link> {
    return this.prisma.$transaction(async (tx) => {
      const link = await this.links.create(tx, {
        sourceId,
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
  /** A decision, with the reviewer's comment (blank: none; at most LINK_COMMENT_MAX characters). */
  async setStatus(id: number, status: LinkStatus, actor: Actor, comment?: string | null): Promise<Link> {
    if (!STATUSES.includes(status)) throw invalidParameter('status', STATUSES.join(', '), status);
    const text = comment?.trim() || null;
    if (text !== null && (text.length > LINK_COMMENT_MAX || containsNul(text))) {
      throw invalidParameter('comment', `at most ${LINK_COMMENT_MAX} characters, without U+0000 (NUL)`, text.length > 60 ? `${text.slice(0, 60)}…` : text);
    }
    return this.prisma.$transaction(async (tx) => {
      const before = await this.links.findForUpdate(tx, id);
      if (!before) throw new NotFoundError('Link', id);
      const after = await this.links.setStatus(tx, id, status, actor.name, text);
      await this.audit.record(tx, actor, { action: 'setLinkStatus', targetType: 'Link', targetId: id, before: linkState(before), after: linkState(after) });
      return after;
    });
  }
}
