import type { Job, JobState, Prisma as P } from './generated/client.ts';
import type { Prisma } from './database.ts';

export interface JobUpdate {
  state?: JobState;
  done?: number;
  total?: number;
  error?: string | null;
  result?: P.InputJsonValue;
  startedAt?: Date;
  finishedAt?: Date;
  owner?: string | null;
  attempts?: number;
  cancelRequestedAt?: Date | null;
}

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

  /** A job for the queue (docs/adr/0023): no owner until a worker takes it. */
  createQueued(kind: string, params: P.InputJsonValue, maxAttempts: number): Promise<Job> {
    return this.prisma.job.create({ data: { kind, params, queued: true, maxAttempts } });
  }

  update(id: number, data: JobUpdate): Promise<Job> {
    return this.prisma.job.update({ where: { id }, data: { ...data, heartbeatAt: new Date() } });
  }

  /**
   * Updates a job only while it is RUNNING with a heartbeat older than `staleBefore` (its runner stopped): of several
   * processes that find it so at once, one wins. @returns whether this call did
   */
  updateIfStale(id: number, staleBefore: Date, data: JobUpdate): Promise<boolean> {
    return this.prisma.job
      .updateMany({ where: { id, state: 'RUNNING', OR: [{ heartbeatAt: null }, { heartbeatAt: { lt: staleBefore } }] }, data })
      .then((r) => r.count === 1);
  }

  /** Asks a running job to stop (it ends CANCELLED); false when it is no longer running. */
  requestCancel(id: number): Promise<boolean> {
    return this.prisma.job
      .updateMany({ where: { id, state: { in: ['QUEUED', 'RUNNING'] } }, data: { cancelRequestedAt: new Date() } })
      .then((r) => r.count === 1);
  }

  /** The running jobs of an owner that were asked to stop. */
  cancelRequested(owner: string): Promise<Job[]> {
    return this.prisma.job.findMany({ where: { owner, state: 'RUNNING', cancelRequestedAt: { not: null } } });
  }

  /** Queued jobs that are RUNNING with a heartbeat older than `staleBefore`: their runner stopped. */
  findStaleQueued(staleBefore: Date): Promise<Job[]> {
    return this.prisma.job.findMany({
      where: { queued: true, state: 'RUNNING', OR: [{ heartbeatAt: null }, { heartbeatAt: { lt: staleBefore } }] },
      orderBy: { id: 'asc' },
    });
  }

  /** Keyset page by ascending id: `limit` rows after `afterId`. */
  page(filter: { state?: JobState; kind?: string }, limit: number, afterId?: number): Promise<Job[]> {
    return this.prisma.job.findMany({
      where: { ...filter, ...(afterId !== undefined ? { id: { gt: afterId } } : {}) },
      orderBy: { id: 'asc' },
      take: limit,
    });
  }

  /** Jobs in any of `states` (every state when omitted), of one kind if given, newest first, at most `limit`. */
  findMany(filter: { states?: readonly JobState[]; kind?: string }, limit: number): Promise<Job[]> {
    return this.prisma.job.findMany({
      where: { ...(filter.states ? { state: { in: [...filter.states] } } : {}), ...(filter.kind !== undefined ? { kind: filter.kind } : {}) },
      orderBy: { id: 'desc' },
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
          // a queued job (docs/adr/0023) waits for any worker and is handed back when its runner stops
          // (JobService.reap); only the embedded database's start-up (no `staleBefore`: every job is an orphan) fails it
          ...(staleBefore ? { queued: false } : {}),
          ...(staleBefore ? { OR: [{ heartbeatAt: null }, { heartbeatAt: { lt: staleBefore } }] } : {}),
        },
        data: { state: 'FAILED', error: 'interrupted: the process running the job stopped before it finished', finishedAt: new Date() },
      })
      .then((r) => r.count);
  }
}
