import type { Image, Prisma as P } from './generated/client.ts';
import type { Prisma } from './database.ts';
import { containsInsensitive, type MetadataMatchRow, slideWhere } from './slide.repository.ts';

export type Tx = Omit<Prisma, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

export interface ImageFilterRow {
  modalityId?: number;
  slideId?: number;
  /** A substring of the name, case-insensitive. */
  nameContains?: string;
  /** On a slide whose metadata holds each of these. */
  slideMetadata?: MetadataMatchRow[];
}

/** Plain data access for images: no cmir logic here. */
export class ImageRepository {
  constructor(private readonly prisma: Prisma) {}

  findById(id: number): Promise<Image | null> {
    return this.prisma.image.findUnique({ where: { id } });
  }

  findManyByIds(ids: readonly number[]): Promise<Image[]> {
    return this.prisma.image.findMany({ where: { id: { in: [...ids] } } });
  }

  /** Ids of a modality's images, oldest first, leaving out `exclude`. */
  async idsOfModality(modalityId: number, exclude: readonly number[], take: number): Promise<number[]> {
    const rows = await this.prisma.image.findMany({
      where: { modalityId, id: { notIn: [...exclude] } },
      select: { id: true },
      orderBy: { id: 'asc' },
      take,
    });
    return rows.map((r) => r.id);
  }

  findBySha256(sha256: string): Promise<Image | null> {
    return this.prisma.image.findUnique({ where: { sha256 } });
  }

  /** Images with this name, oldest first, at most `take`. */
  findByName(name: string, take: number): Promise<Image[]> {
    return this.prisma.image.findMany({ where: { name }, orderBy: { id: 'asc' }, take });
  }

  private where(filter: ImageFilterRow): P.ImageWhereInput {
    return {
      modalityId: filter.modalityId,
      slideId: filter.slideId,
      // Prisma sends `contains` as ILIKE '%value%' without escaping LIKE's wildcards: escaped (backslash is
      // Postgres's default LIKE escape, PostgreSQL docs 9.7.1), so "p_3" finds only names with "p_3" in them
      ...(filter.nameContains ? { name: containsInsensitive(filter.nameContains) } : {}),
      ...(filter.slideMetadata?.length ? { slide: slideWhere({ metadata: filter.slideMetadata }) } : {}),
    };
  }

  /** Keyset page by ascending id: `limit` rows after `afterId`. */
  page(filter: ImageFilterRow, limit: number, afterId?: number): Promise<Image[]> {
    return this.prisma.image.findMany({
      where: { ...this.where(filter), ...(afterId !== undefined ? { id: { gt: afterId } } : {}) },
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  count(filter: ImageFilterRow): Promise<number> {
    return this.prisma.image.count({ where: this.where(filter) });
  }

  create(tx: Tx, data: P.ImageUncheckedCreateInput): Promise<Image> {
    return tx.image.create({ data });
  }

  delete(tx: Tx, id: number): Promise<Image> {
    return tx.image.delete({ where: { id } });
  }

  countByModality(modalityIds: readonly number[]): Promise<Map<number, number>> {
    return this.prisma.image
      .groupBy({ by: ['modalityId'], where: { modalityId: { in: [...modalityIds] } }, _count: { _all: true } })
      .then((rows) => new Map(rows.map((r) => [r.modalityId, r._count._all])));
  }
}
