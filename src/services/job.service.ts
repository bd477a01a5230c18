import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Job, JobState, Prisma as P } from '../db/generated/client.ts';
import type { JobRepository } from '../db/job.repository.ts';
import { invalidParameter, NotFoundError } from '../errors.ts';
import { type Page, pageOf, validatePageArgs } from './pagination.ts';
import { watch } from './watch.ts';

/** Every kind of job, as `start` records it: vocabulary builds, reindexing, whole-slide tiling. */
export const JOB_KINDS = ['vocabulary.build', 'index.rebuild', 'slide.tile'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

const JOB_STATES: readonly JobState[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'];

export interface JobProgress {
  /** Reports progress; writes are throttled to at most one per PROGRESS_INTERVAL_MS. */
  report(done: number, total?: number): void;
}

/** Progress rows are written at most this often (ms): enough for a progress bar, cheap for the database. */
const PROGRESS_INTERVAL_MS = 250;

export interface JobServiceOptions {
  /** This process's name on its jobs; default host:pid:random. */
  owner?: string;
  /** How often the owner's unfinished jobs are touched, progress or not; default 15 s. */
  heartbeatMs?: number;
}

/**
 * In-process jobs: a row per job with state and done/total, run on this event loop. `start` returns the queued job at
 * once; `wait` resolves when it ends (for the CLI and tests).
 *
 * Every row names its owner (this process) and carries a heartbeat, written with each progress update and every
 * `heartbeatMs`. A job whose heartbeat is older than four intervals belongs to a process that stopped: it can never
 * finish, and is marked FAILED at start-up (`recover`) or when it is read (`get`). On a shared Postgres this keeps
 * one server from failing another's live jobs.
 */
export class JobService {
  readonly owner: string;
  /**
   * Each job row this process writes (its start, every progress write, its end), as written: what the `jobUpdated`
   * subscription pushes. In-process: a job another server runs on a shared Postgres is not seen here.
   */
  readonly changes = new EventEmitter<{ job: [Job] }>().setMaxListeners(0);
  private readonly heartbeatMs: number;
  private readonly running = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly jobs: JobRepository, opts: JobServiceOptions = {}) {
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
  }

  /** A heartbeat older than this means the owner stopped: four missed beats (slack for a loaded machine). */
  get orphanAfterMs(): number {
    return 4 * this.heartbeatMs;
  }

  /**
   * At start-up, fails the jobs of stopped processes. `exclusive`: this process is the database's only user (the
   * embedded database holds a lock file), so every unfinished job is an orphan; otherwise only stale ones are.
   * @returns how many jobs were failed
   */
  recover(exclusive: boolean): Promise<number> {
    return this.jobs.failInterrupted(exclusive ? undefined : this.staleBefore());
  }

  async get(id: number): Promise<Job> {
    let job = await this.jobs.findById(id);
    if (!job) throw new NotFoundError('Job', id);
    if ((job.state === 'QUEUED' || job.state === 'RUNNING') && !this.running.has(id) && this.isStale(job)) {
      await this.jobs.failInterrupted(this.staleBefore(), id);
      job = (await this.jobs.findById(id)) ?? job;
    }
    return job;
  }

  /**
   * A page of jobs, oldest first, of a state and a kind when given, with the number that match. Unfinished jobs of
   * stopped processes are failed first, as `get` does, so that a RUNNING job listed is one that may still finish.
   */
  async list(filter: { state?: JobState | null; kind?: string | null }, args: { first?: number | null; after?: string | null }): Promise<Page<Job>> {
    const { first, afterId } = validatePageArgs(args);
    if (filter.state != null && !JOB_STATES.includes(filter.state)) throw invalidParameter('state', JOB_STATES.join(', '), filter.state);
    if (filter.kind != null && !(JOB_KINDS as readonly string[]).includes(filter.kind)) {
      throw invalidParameter('kind', `one of ${JOB_KINDS.join(', ')}`, filter.kind);
    }
    await this.unfinished();
    const where = { state: filter.state ?? undefined, kind: filter.kind ?? undefined };
    const [rows, totalCount] = await Promise.all([this.jobs.page(where, first + 1, afterId), this.jobs.count(where)]);
    return pageOf(rows, first, totalCount, afterId !== undefined);
  }

  /**
   * A job as it changes (`jobUpdated`): its row now, then each row this process writes, ending after it finishes; or,
   * without `id`, every job this process writes, without end. An unknown id is NOT_FOUND here, before anything is sent.
   */
  async watch(id?: number): Promise<AsyncIterableIterator<Job>> {
    if (id === undefined) return watch<Job>(this.changes, 'job');
    const finished = (j: Job) => j.state === 'SUCCEEDED' || j.state === 'FAILED';
    // listening before reading the row: a change in between comes after it, not never
    const changes = watch<Job>(this.changes, 'job', { keep: (j) => j.id === id, last: finished });
    try {
      const now = await this.get(id);
      if (finished(now)) {
        await changes.return!();
        return watch<Job>(this.changes, 'job', { initial: [now], last: () => true });
      }
      return prepend(now, changes);
    } catch (e) {
      await changes.return!();
      throw e;
    }
  }

  /**
   * The unfinished jobs (of a kind, or of every kind) that may still finish: those of stopped processes are failed
   * first, as `get` does.
   */
  async unfinished(kind?: JobKind): Promise<Job[]> {
    const jobs = await Promise.all((await this.jobs.findUnfinished(kind)).map((j) => this.get(j.id)));
    return jobs.filter((j) => j.state === 'QUEUED' || j.state === 'RUNNING');
  }

  private staleBefore(): Date {
    return new Date(Date.now() - this.orphanAfterMs);
  }

  private isStale(job: Job): boolean {
    return (job.heartbeatAt ?? job.createdAt).getTime() < Date.now() - this.orphanAfterMs;
  }

  async start(
    kind: JobKind,
    params: P.InputJsonObject,
    work: (progress: JobProgress) => Promise<P.InputJsonValue>,
    onProgress?: (done: number, total: number) => void,
  ): Promise<Job> {
    const job = await this.jobs.create(kind, params, 0, this.owner);
    this.changes.emit('job', job);
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
        pending = pending.then(() => this.write(job.id, { done, ...(total !== undefined ? { total } : {}) }));
      },
    };
    const run = (async () => {
      await this.write(job.id, { state: 'RUNNING', startedAt: new Date() });
      try {
        const result = await work(progress);
        await pending;
        await this.write(job.id, { state: 'SUCCEEDED', result, finishedAt: new Date(), ...latest });
      } catch (e) {
        await pending.catch(() => undefined);
        await this.write(job.id, { state: 'FAILED', error: (e as Error).message, finishedAt: new Date() });
      } finally {
        this.running.delete(job.id);
        if (this.running.size === 0) this.stopHeartbeat();
      }
    })();
    this.running.set(job.id, run);
    this.startHeartbeat();
    return job;
  }

  /** Writes a job's row and tells the subscribers. */
  private async write(id: number, data: Parameters<JobRepository['update']>[1]): Promise<Job> {
    const row = await this.jobs.update(id, data);
    this.changes.emit('job', row);
    return row;
  }

  private startHeartbeat(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.jobs.heartbeat(this.owner).catch(() => undefined), this.heartbeatMs);
    this.timer.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.timer);
    this.timer = undefined;
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

/** `first`, then what `rest` yields; `return()` ends `rest` at once (see watch.ts). */
function prepend<T>(first: T, rest: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  let sent = false;
  return {
    next: () => {
      if (sent) return rest.next();
      sent = true;
      return Promise.resolve({ value: first, done: false });
    },
    return: () => rest.return!(),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
