import type { Job, JobState, Prisma as P } from './generated/client.ts';
import type { Prisma } from './database.ts';

export class JobRepository {
  constructor(private readonly prisma: Prisma) {}

  findById(id: number): Promise<Job | null> {
    return this.prisma.job.findUnique({ where: { id } });
  }

  findManyByIds(ids: readonly number[]): Promise<Job[]> {
    return this.prisma.job.findMany({ where: { id: { in: [...ids] } } });
  }

  create(kind: string, params: P.InputJsonValue, total: number, owner: string): Promise<Job> {
    return this.prisma.job.create({ data: { kind, params, total, owner, heartbeatAt: new Date() } });
  }

  update(
    id: number,
    data: { state?: JobState; done?: number; total?: number; error?: string; result?: P.InputJsonValue; startedAt?: Date; finishedAt?: Date },
  ): Promise<Job> {
    return this.prisma.job.update({ where: { id }, data: { ...data, heartbeatAt: new Date() } });
  }

  /** Keyset page by ascending id: `limit` rows after `afterId`. */
  page(filter: { state?: JobState; kind?: string }, limit: number, afterId?: number): Promise<Job[]> {
    return this.prisma.job.findMany({
      where: { ...filter, ...(afterId !== undefined ? { id: { gt: afterId } } : {}) },
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  count(filter: { state?: JobState; kind?: string }): Promise<number> {
    return this.prisma.job.count({ where: filter });
  }

  /** The unfinished (QUEUED or RUNNING) jobs of a kind, or of every kind. */
  findUnfinished(kind?: string): Promise<Job[]> {
    return this.prisma.job.findMany({ where: { kind, state: { in: ['QUEUED', 'RUNNING'] } }, orderBy: { id: 'asc' } });
  }

  /** Touches the heartbeat of an owner's unfinished jobs. */
  heartbeat(owner: string): Promise<number> {
    return this.prisma.job
      .updateMany({ where: { owner, state: { in: ['QUEUED', 'RUNNING'] } }, data: { heartbeatAt: new Date() } })
      .then((r) => r.count);
  }

  /**
   * Marks unfinished jobs FAILED as interrupted: those whose heartbeat is older than `staleBefore` (or every one when
   * it is omitted), optionally only the job `id`.
   */
  failInterrupted(staleBefore?: Date, id?: number): Promise<number> {
    return this.prisma.job
      .updateMany({
        where: {
          state: { in: ['QUEUED', 'RUNNING'] },
          ...(id !== undefined ? { id } : {}),
          ...(staleBefore ? { OR: [{ heartbeatAt: null }, { heartbeatAt: { lt: staleBefore } }] } : {}),
        },
        data: { state: 'FAILED', error: 'interrupted: the process running the job stopped before it finished', finishedAt: new Date() },
      })
      .then((r) => r.count);
  }
}
