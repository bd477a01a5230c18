import type { Prisma as P, Slide } from './generated/client.ts';
import type { Prisma } from './database.ts';
import type { Tx } from './image.repository.ts';

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

  page(limit: number, afterId?: number): Promise<Slide[]> {
    return this.prisma.slide.findMany({
      where: afterId !== undefined ? { id: { gt: afterId } } : {},
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  count(): Promise<number> {
    return this.prisma.slide.count();
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
