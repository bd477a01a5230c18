import type { Link, LinkStatus, Prisma as P } from './generated/client.ts';
import type { Prisma } from './database.ts';
import type { Tx } from './image.repository.ts';

/** What the review queries filter links by (all optional; a modality by id). */
export interface LinkFilterRow {
  status?: LinkStatus;
  targetSlideId?: number;
  sourceModalityId?: number;
  targetModalityId?: number;
  createdAfter?: Date;
}

export type LinkCounts = Record<LinkStatus, number>;

export class LinkRepository {
  constructor(private readonly prisma: Prisma) {}

  create(tx: Tx, data: P.LinkUncheckedCreateInput): Promise<Link> {
    return tx.link.create({ data });
  }

  findById(id: number): Promise<Link | null> {
    return this.prisma.link.findUnique({ where: { id } });
  }

  /** The row as it is now, locked until the transaction ends (two decisions at once are recorded one after the other). */
  async findForUpdate(tx: Tx, id: number): Promise<Link | null> {
    await tx.$queryRaw`SELECT id FROM "Link" WHERE id = ${id} FOR UPDATE`;
    return tx.link.findUnique({ where: { id } });
  }

  setStatus(tx: Tx, id: number, status: LinkStatus, decidedBy: string | null, comment: string | null = null): Promise<Link> {
    return tx.link.update({ where: { id }, data: { status, decidedBy, decidedAt: new Date(), comment } });
  }

  /**
   * The link from `sourceId` to `targetImageId` with this stored region (null: none), if there is one: the row the
   * unique index "Link_source_target_region_key" (migration 20261203100000_link_identity) matches, by its expression.
   */
  async findSame(sourceId: number, targetImageId: number, region: P.InputJsonValue | null): Promise<Link | null> {
    const json = region === null ? null : JSON.stringify(region);
    const rows = await this.prisma.$queryRaw<{ id: number }[]>`
      SELECT "id" FROM "Link"
      WHERE "sourceId" = ${sourceId} AND "targetImageId" = ${targetImageId}
        AND md5(COALESCE("region"::text, '')) = md5(COALESCE(${json}::jsonb::text, ''))`;
    return rows[0] ? this.findById(rows[0].id) : null;
  }

  private where(filter: LinkFilterRow): P.LinkWhereInput {
    return {
      status: filter.status,
      targetSlideId: filter.targetSlideId,
      createdAt: filter.createdAfter ? { gt: filter.createdAfter } : undefined,
      source: filter.sourceModalityId !== undefined ? { is: { modalityId: filter.sourceModalityId } } : undefined,
      targetImage: filter.targetModalityId !== undefined ? { is: { modalityId: filter.targetModalityId } } : undefined,
    };
  }

  /** Keyset page by ascending id: `limit` rows after `afterId`. */
  page(filter: LinkFilterRow, limit: number, afterId?: number): Promise<Link[]> {
    return this.prisma.link.findMany({
      where: { ...this.where(filter), ...(afterId !== undefined ? { id: { gt: afterId } } : {}) },
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  count(filter: LinkFilterRow): Promise<number> {
    return this.prisma.link.count({ where: this.where(filter) });
  }

  /** Whether the link `id` matches the filter. */
  async matches(id: number, filter: LinkFilterRow): Promise<boolean> {
    return (await this.prisma.link.count({ where: { ...this.where(filter), id } })) > 0;
  }

  /** Links per status, of every link. */
  async countByStatus(): Promise<LinkCounts> {
    const rows = await this.prisma.link.groupBy({ by: ['status'], _count: { _all: true } });
    const counts: LinkCounts = { PROPOSED: 0, CONFIRMED: 0, REJECTED: 0 };
    for (const r of rows) counts[r.status] = r._count._all;
    return counts;
  }

  /** Links per status onto each of these slides, in one query. */
  async countByStatusForSlides(slideIds: readonly number[]): Promise<Map<number, LinkCounts>> {
    const rows = await this.prisma.link.groupBy({
      by: ['targetSlideId', 'status'],
      where: { targetSlideId: { in: [...slideIds] } },
      _count: { _all: true },
    });
    const out = new Map<number, LinkCounts>(slideIds.map((id) => [id, { PROPOSED: 0, CONFIRMED: 0, REJECTED: 0 }]));
    for (const r of rows) if (r.targetSlideId !== null) out.get(r.targetSlideId)![r.status] = r._count._all;
    return out;
  }

  /** Links from or to any of these images, newest first. */
  forImages(imageIds: readonly number[]): Promise<Link[]> {
    return this.prisma.link.findMany({
      where: { OR: [{ sourceId: { in: [...imageIds] } }, { targetImageId: { in: [...imageIds] } }] },
      orderBy: { id: 'desc' },
    });
  }

  /** Links whose target is on one of these slides, newest first. */
  forSlides(slideIds: readonly number[]): Promise<Link[]> {
    return this.prisma.link.findMany({ where: { targetSlideId: { in: [...slideIds] } }, orderBy: { id: 'desc' } });
  }
}
