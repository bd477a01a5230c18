import type { Prisma as P, Slide } from './generated/client.ts';
import type { Prisma } from './database.ts';
import type { Tx } from './image.repository.ts';

/** One metadata key and the JSON values it may hold to match (a string, and the number or boolean it reads as). */
export interface MetadataMatchRow {
  key: string;
  values: (string | number | boolean)[];
}

export interface SlideFilterRow {
  /** A substring of the name, case-insensitive. */
  nameContains?: string;
  metadata?: MetadataMatchRow[];
}

/** Prisma sends `contains` as ILIKE '%value%' unescaped: LIKE's wildcards escaped (PostgreSQL docs 9.7.1). */
export function containsInsensitive(text: string): { contains: string; mode: 'insensitive' } {
  return { contains: text.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' };
}

/** Slides whose metadata holds every key with one of its values (Prisma's JSON path filter: `metadata #> '{key}' = value`). */
export function slideWhere(filter: SlideFilterRow): P.SlideWhereInput {
  return {
    ...(filter.nameContains ? { name: containsInsensitive(filter.nameContains) } : {}),
    ...(filter.metadata?.length
      ? { AND: filter.metadata.map((m) => ({ OR: m.values.map((v) => ({ metadata: { path: [m.key], equals: v } })) })) }
      : {}),
  };
}

export class SlideRepository {
  constructor(private readonly prisma: Prisma) {}

  findById(id: number): Promise<Slide | null> {
    return this.prisma.slide.findUnique({ where: { id } });
  }

  findManyByIds(ids: readonly number[]): Promise<Slide[]> {
    return this.prisma.slide.findMany({ where: { id: { in: [...ids] } } });
  }

  findByName(name: string): Promise<Slide | null> {
    return this.prisma.slide.findUnique({ where: { name } });
  }

  page(filter: SlideFilterRow, limit: number, afterId?: number): Promise<Slide[]> {
    return this.prisma.slide.findMany({
      where: { ...slideWhere(filter), ...(afterId !== undefined ? { id: { gt: afterId } } : {}) },
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  count(filter: SlideFilterRow = {}): Promise<number> {
    return this.prisma.slide.count({ where: slideWhere(filter) });
  }

  create(data: { name: string; metadata: P.InputJsonValue }): Promise<Slide> {
    return this.prisma.slide.create({ data });
  }

  /** Finds or creates a slide by name inside a transaction. */
  upsertByName(tx: Tx, name: string): Promise<Slide> {
    return tx.slide.upsert({ where: { name }, create: { name }, update: {} });
  }

  updateMetadata(id: number, metadata: P.InputJsonValue): Promise<Slide> {
    return this.prisma.slide.update({ where: { id }, data: { metadata } });
  }
}
