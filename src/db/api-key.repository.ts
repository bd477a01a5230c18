import type { ApiKey, Prisma as P } from './generated/client.ts';
import type { Prisma } from './database.ts';
import type { Tx } from './image.repository.ts';

export class ApiKeyRepository {
  constructor(private readonly prisma: Prisma) {}

  create(tx: Tx, data: P.ApiKeyCreateInput): Promise<ApiKey> {
    return tx.apiKey.create({ data });
  }

  findByHash(hash: string): Promise<ApiKey | null> {
    return this.prisma.apiKey.findUnique({ where: { hash } });
  }

  findById(id: number): Promise<ApiKey | null> {
    return this.prisma.apiKey.findUnique({ where: { id } });
  }

  findByName(name: string): Promise<ApiKey | null> {
    return this.prisma.apiKey.findUnique({ where: { name } });
  }

  /** Every key, oldest first. */
  list(): Promise<ApiKey[]> {
    return this.prisma.apiKey.findMany({ orderBy: { id: 'asc' } });
  }

  /** Keys ever created, revoked ones included. */
  count(): Promise<number> {
    return this.prisma.apiKey.count();
  }

  revoke(tx: Tx, id: number): Promise<ApiKey> {
    return tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
  }

  /** Records a use; only when the last recorded one is older than `olderThan`, so a busy client does not write per request. */
  async touch(id: number, now: Date, olderThan: Date): Promise<void> {
    await this.prisma.apiKey.updateMany({ where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: olderThan } }] }, data: { lastUsedAt: now } });
  }
}
