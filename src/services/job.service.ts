import type { Job, Prisma as P } from '../db/generated/client.ts';
import type { JobRepository } from '../db/job.repository.ts';
import { NotFoundError } from '../errors.ts';

export interface JobProgress {
  /** Reports progress; writes are throttled to at most one per PROGRESS_INTERVAL_MS. */
  report(done: number, total?: number): void;
}

/** Progress rows are written at most this often (ms): enough for a progress bar, cheap for the database. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * In-process jobs: a row per job with state and done/total, run on this event loop. `start` returns the queued job at
 * once; `wait` resolves when it ends (for the CLI and tests).
 */
export class JobService {
  private readonly running = new Map<number, Promise<void>>();

  constructor(private readonly jobs: JobRepository) {}

  async get(id: number): Promise<Job> {
    const job = await this.jobs.findById(id);
    if (!job) throw new NotFoundError('Job', id);
    return job;
  }

  async start(
    kind: string,
    params: P.InputJsonObject,
    work: (progress: JobProgress) => Promise<P.InputJsonValue>,
    onProgress?: (done: number, total: number) => void,
  ): Promise<Job> {
    const job = await this.jobs.create(kind, params, 0);
    let last = 0;
    let latest = { done: 0, total: 0 };
    let pending: Promise<unknown> = Promise.resolve();
    const progress: JobProgress = {
      report: (done, total) => {
        latest = { done, total: total ?? latest.total };
        onProgress?.(latest.done, latest.total);
        const now = Date.now();
        if (now - last < PROGRESS_INTERVAL_MS) return;
        last = now;
        pending = pending.then(() => this.jobs.update(job.id, { done, ...(total !== undefined ? { total } : {}) }));
      },
    };
    const run = (async () => {
      await this.jobs.update(job.id, { state: 'RUNNING', startedAt: new Date() });
      try {
        const result = await work(progress);
        await pending;
        await this.jobs.update(job.id, { state: 'SUCCEEDED', result, finishedAt: new Date(), ...latest });
      } catch (e) {
        await pending.catch(() => undefined);
        await this.jobs.update(job.id, { state: 'FAILED', error: (e as Error).message, finishedAt: new Date() });
      } finally {
        this.running.delete(job.id);
      }
    })();
    this.running.set(job.id, run);
    return job;
  }

  /** Resolves with the job's final row once it has finished. */
  async wait(id: number): Promise<Job> {
    await this.running.get(id);
    return this.get(id);
  }

  /** Waits for every running job (shutdown). */
  async drain(): Promise<void> {
    await Promise.all(this.running.values());
  }
}
