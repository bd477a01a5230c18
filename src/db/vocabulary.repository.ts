import type { Prisma as P, Vocabulary } from './generated/client.ts';
import type { Prisma } from './database.ts';

/** Vocabulary rows without their centroids (which are megabytes). */
export type VocabularyInfo = Omit<Vocabulary, 'centroids'>;
const INFO = { id: true, space: true, size: true, dim: true, params: true, state: true, createdAt: true } as const;

export class VocabularyRepository {
  constructor(private readonly prisma: Prisma) {}

  create(data: { space: string; size: number; dim: number; params: P.InputJsonObject; centroids: Uint8Array }): Promise<VocabularyInfo> {
    return this.prisma.vocabulary.create({ data: { ...data, centroids: Buffer.from(data.centroids) }, select: INFO });
  }

  setState(id: number, state: 'building' | 'indexing' | 'ready' | 'failed'): Promise<VocabularyInfo> {
    return this.prisma.vocabulary.update({ where: { id }, data: { state }, select: INFO });
  }

  findById(id: number): Promise<VocabularyInfo | null> {
    return this.prisma.vocabulary.findUnique({ where: { id }, select: INFO });
  }

  findManyByIds(ids: readonly number[]): Promise<VocabularyInfo[]> {
    return this.prisma.vocabulary.findMany({ where: { id: { in: [...ids] } }, select: INFO });
  }

  /** The newest ready vocabulary of a space: the one searches and ingestion use. */
  latestReady(space: string): Promise<VocabularyInfo | null> {
    return this.prisma.vocabulary.findFirst({ where: { space, state: 'ready' }, orderBy: { id: 'desc' }, select: INFO });
  }

  /** Versions of a space being indexed by a build right now (state 'indexing'). */
  indexing(space: string): Promise<VocabularyInfo[]> {
    return this.prisma.vocabulary.findMany({ where: { space, state: 'indexing' }, orderBy: { id: 'asc' }, select: INFO });
  }

  /** Versions whose build has not ended (state 'building' or 'indexing'), of every space. */
  unfinished(): Promise<VocabularyInfo[]> {
    return this.prisma.vocabulary.findMany({ where: { state: { in: ['building', 'indexing'] } }, orderBy: { id: 'asc' }, select: INFO });
  }

  list(spacePrefix?: string): Promise<VocabularyInfo[]> {
    return this.prisma.vocabulary.findMany({
      where: spacePrefix ? { space: { startsWith: spacePrefix } } : {},
      orderBy: { id: 'asc' },
      select: INFO,
    });
  }

  async centroids(id: number): Promise<Uint8Array> {
    const row = await this.prisma.vocabulary.findUniqueOrThrow({ where: { id }, select: { centroids: true } });
    return row.centroids;
  }
}
