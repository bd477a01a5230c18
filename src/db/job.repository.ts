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

  create(kind: string, params: P.InputJsonValue, total: number): Promise<Job> {
    return this.prisma.job.create({ data: { kind, params, total } });
  }

  update(
    id: number,
    data: { state?: JobState; done?: number; total?: number; error?: string; result?: P.InputJsonValue; startedAt?: Date; finishedAt?: Date },
  ): Promise<Job> {
    return this.prisma.job.update({ where: { id }, data });
  }

  /** Jobs left RUNNING or QUEUED by a process that died cannot finish: mark them failed at start-up. */
  failInterrupted(): Promise<number> {
    return this.prisma.job
      .updateMany({
        where: { state: { in: ['QUEUED', 'RUNNING'] } },
        data: { state: 'FAILED', error: 'interrupted: the server stopped before the job finished', finishedAt: new Date() },
      })
      .then((r) => r.count);
  }
}
