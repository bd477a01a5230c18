import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Job, JobState, Prisma as P } from '../db/generated/client.ts';
import type { JobRepository, JobUpdate } from '../db/job.repository.ts';
import { NoNotifications, type Notifications } from '../db/notifications.ts';
import { isAppError, invalidParameter, NotFoundError } from '../errors.ts';
import { type Attempt, InProcessQueue, type JobQueue, retryDelayMs } from './job-queue.ts';
import { type Page, pageOf, validatePageArgs } from './pagination.ts';
import { watch } from './watch.ts';

/** Every kind of job, as `start` records it: vocabulary builds, reindexing, whole-slide tiling, ingestion. */
export const JOB_KINDS = ['vocabulary.build', 'index.rebuild', 'slide.tile', 'image.ingest'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/**
 * How many attempts a queued job of each kind gets (docs/adr/0023). Reindexing and tiling go on from what they
 * stored, so another attempt costs only what was lost; a vocabulary build starts over (k-means from the beginning) and
 * a failed one is more likely a problem of its images than of its process: one attempt, then a person looks.
 */
export const MAX_ATTEMPTS: Record<JobKind, number> = { 'index.rebuild': 3, 'slide.tile': 3, 'vocabulary.build': 1, 'image.ingest': 3 };

/**
 * Runs a queued job of one kind: from its params (JSON) to its result (JSON), reporting progress. `job` is its row as
 * the attempt began (its id, for writes that must commit with the handler's own: image.ingest).
 */
export type JobHandler = (params: P.JsonObject, progress: JobProgress, job: Job) => Promise<P.InputJsonValue>;

/**
 * What a job's FAILED row holds in `result` when its handler failed with a typed error (an AppError: a file that is
 * not an image, a duplicate): the error's code and details, so that a caller waiting for the job (the synchronous
 * `ingestImage`) answers with the same typed error as before the queue. Such a failure is not retried: the same input
 * fails the same way (the dead letter at once).
 */
export interface JobErrorResult {
  error: { code: string; message: string; details: P.InputJsonObject };
}


export interface JobProgress {
  /**
   * Reports progress; writes are throttled to at most one per PROGRESS_INTERVAL_MS. Throws when the job was cancelled
   * or its worker is stopping: the job stops there.
   */
  report(done: number, total?: number): void;
}

/** Every state a job can be in (prisma/schema.prisma, enum JobState). */
export const JOB_STATES: readonly JobState[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Whether a job has ended (it will not change again). */
export const jobFinished = (j: Pick<Job, 'state'>) => j.state === 'SUCCEEDED' || j.state === 'FAILED' || j.state === 'CANCELLED';

/** How often `wait` reads a job that another process runs (ms); one this process runs is seen at once. */
const WAIT_POLL_MS = 250;

/** Why an attempt was stopped: a person cancelled it, or its worker is stopping (the job is handed back). */
class Stopped extends Error {
  constructor(readonly why: 'cancelled' | 'handed back') {
    super(why === 'cancelled' ? 'cancelled' : 'handed back: the worker stopped before the job finished');
  }
}

/** The most jobs one `list` returns. */
const MAX_LIST = 1000;

/** Progress rows are written at most this often (ms): enough for a progress bar, cheap for the database. */
const PROGRESS_INTERVAL_MS = 250;

export interface JobServiceOptions {
  /** This process's name on its jobs; default host:pid:random. */
  owner?: string;
  /** How often the owner's unfinished jobs are touched, progress or not; default 15 s (or CMIR_JOB_HEARTBEAT_MS). */
  heartbeatMs?: number;
  /** Where queued jobs wait (docs/adr/0023); default an in-process queue (the embedded database's). */
  queue?: JobQueue;
  /** How the other processes on the database hear of this one's job rows (docs/adr/0027); default none (embedded). */
  notifications?: Notifications;
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
   * subscription pushes. On a shared Postgres, after `listen`, also the rows other processes write (read back when
   * their NOTIFY arrives, docs/adr/0027).
   */
  readonly changes = new EventEmitter<{ job: [Job] }>().setMaxListeners(0);
  readonly queue: JobQueue;
  private readonly heartbeatMs: number;
  private readonly running = new Map<number, Promise<void>>();
  /** The queued jobs this process runs now, with what stops them (cancel, or the worker stopping). */
  private readonly attempts = new Map<number, AbortController>();
  /** The attempts this process runs now, until they end (`drain`). */
  private readonly active = new Map<number, Promise<void>>();
  /** Progress callbacks of jobs queued here (`enqueue`'s onProgress), called when this process runs them. */
  private readonly listeners = new Map<number, (done: number, total: number) => void>();
  private readonly handlers = new Map<string, JobHandler>();
  private timer: NodeJS.Timeout | undefined;
  /** False in an API-only replica (`cmir serve --no-worker`): `wait` never works the queue there. */
  private mayWork = true;

  constructor(private readonly jobs: JobRepository, opts: JobServiceOptions = {}) {
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.queue = opts.queue ?? new InProcessQueue();
    this.notifications = opts.notifications ?? new NoNotifications();
  }
  private readonly notifications: Notifications;

  /**
   * Makes this process an API-only replica (`cmir serve --no-worker`): it never takes queued jobs, not even while it
   * waits for one (`wait`); workers run them.
   */
  refuseWork(): void {
    this.mayWork = false;
  }

  /** Registers how jobs of a kind run (each service registers its kinds; every process that may run jobs has all). */
  handle(kind: JobKind, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  /**
   * Queues a job of a kind (docs/adr/0023): its row (QUEUED) at once, then a worker runs it (this process when it
   * works the queue, or another), retrying a failed attempt after a backoff up to MAX_ATTEMPTS[kind] attempts.
   * `onProgress` is called when this process runs it.
   */
  async enqueue(kind: JobKind, params: P.InputJsonObject, onProgress?: (done: number, total: number) => void): Promise<Job> {
    const job = await this.jobs.createQueued(kind, params, MAX_ATTEMPTS[kind]);
    if (onProgress) this.listeners.set(job.id, onProgress);
    this.changed(job);
    try {
      await this.queue.enqueue(job.id, job.maxAttempts);
    } catch (e) {
      // not queued: the row must not wait for ever
      this.listeners.delete(job.id);
      await this.write(job.id, { state: 'FAILED', error: `not queued: ${(e as Error).message}`, finishedAt: new Date() });
      throw e;
    }
    return job;
  }

  /**
   * Takes queued jobs in this process, `concurrency` at a time (cmir serve, cmir worker; on the embedded database at
   * start-up). While it works, its heartbeat also asks for cancellations and hands back the jobs of stopped workers.
   */
  async work(concurrency = 1): Promise<void> {
    await this.queue.work((a) => {
      const run = this.runAttempt(a);
      const settled = run.then(
        () => undefined,
        () => undefined,
      );
      this.active.set(a.jobId, settled);
      void settled.then(() => {
        if (this.active.get(a.jobId) === settled) this.active.delete(a.jobId);
      });
      return run;
    }, concurrency);
    // the embedded database's queue has no other runner to watch: its heartbeat beats only while a job runs
    if (this.queue.name !== 'in-process') this.startHeartbeat();
  }

  /**
   * Cancels a job: a queued one at once; a running one is asked to stop at its next progress report (at once when
   * this process runs it, else at its runner's next heartbeat) and ends CANCELLED. A job that has ended is returned
   * as it is. Jobs started as closures (`start`) cannot be cancelled: INVALID_PARAMETER.
   */
  async cancel(id: number): Promise<Job> {
    const job = await this.get(id);
    if (jobFinished(job)) return job;
    if (!job.queued) throw invalidParameter('id', 'a queued job (this one runs as part of its process and cannot be cancelled)', id);
    if (job.state === 'QUEUED' && (await this.queue.cancelQueued(id))) {
      this.listeners.delete(id);
      return this.write(id, { state: 'CANCELLED', finishedAt: new Date(), cancelRequestedAt: new Date(), owner: null });
    }
    await this.jobs.requestCancel(id);
    this.attempts.get(id)?.abort(new Stopped('cancelled'));
    return this.get(id);
  }

  /** One attempt at a queued job, as the queue hands it to this process; throws when it failed (the queue retries). */
  private async runAttempt(a: Attempt): Promise<void> {
    const job = await this.jobs.findById(a.jobId);
    // gone, or ended already (cancelled while it waited)
    if (!job || jobFinished(job)) return;
    if (job.cancelRequestedAt) {
      await this.write(job.id, { state: 'CANCELLED', finishedAt: new Date(), owner: null });
      return;
    }
    const handler = this.handlers.get(job.kind);
    if (!handler) throw new Error(`no handler for jobs of kind ${job.kind} in this process`);
    const stop = new AbortController();
    const onShutdown = () => stop.abort(new Stopped('handed back'));
    if (a.signal.aborted) onShutdown();
    a.signal.addEventListener('abort', onShutdown, { once: true });
    this.attempts.set(job.id, stop);
    const listener = this.listeners.get(job.id);
    let last = 0;
    let latest = { done: job.done, total: job.total };
    let pending: Promise<unknown> = Promise.resolve();
    const progress: JobProgress = {
      report: (done, total) => {
        if (stop.signal.aborted) throw stop.signal.reason;
        latest = { done, total: total ?? latest.total };
        listener?.(latest.done, latest.total);
        const now = Date.now();
        if (now - last < PROGRESS_INTERVAL_MS) return;
        last = now;
        pending = pending.then(() => this.write(job.id, { done, ...(total !== undefined ? { total } : {}) }));
      },
    };
    try {
      await this.write(job.id, { state: 'RUNNING', owner: this.owner, attempts: a.attempt, startedAt: new Date(), finishedAt: undefined });
      this.startHeartbeat();
      const result = await handler(job.params as P.JsonObject, progress, job);
      await pending;
      await this.write(job.id, { state: 'SUCCEEDED', result, error: null, finishedAt: new Date(), ...latest });
      this.listeners.delete(job.id);
    } catch (e) {
      await pending.catch(() => undefined);
      const reason = stop.signal.aborted ? stop.signal.reason : e;
      if (reason instanceof Stopped && reason.why === 'cancelled') {
        this.listeners.delete(job.id);
        await this.write(job.id, { state: 'CANCELLED', error: 'cancelled', finishedAt: new Date(), owner: null });
        return;
      }
      const message = (reason as Error).message;
      if (isAppError(reason)) {
        // a typed error (bad input): another attempt would fail alike; the dead letter at once, with its code
        this.listeners.delete(job.id);
        const result: JobErrorResult = { error: { code: reason.code, message, details: JSON.parse(JSON.stringify(reason.details)) as P.InputJsonObject } };
        await this.write(job.id, { state: 'FAILED', error: message, result: result as unknown as P.InputJsonObject, finishedAt: new Date() });
        return;
      }
      if (a.attempt < a.maxAttempts) {
        // the queue runs it again after its backoff (graphile-worker: e^attempts s)
        await this.write(job.id, {
          state: 'QUEUED',
          owner: null,
          error: `attempt ${a.attempt} of ${a.maxAttempts}: ${message}; next in about ${Math.round(retryDelayMs(a.attempt) / 1000)} s`,
        });
      } else {
        // the dead letter: FAILED with the last error, attempts = maxAttempts
        this.listeners.delete(job.id);
        await this.write(job.id, { state: 'FAILED', error: message, finishedAt: new Date() });
      }
      throw reason;
    } finally {
      a.signal.removeEventListener('abort', onShutdown);
      this.attempts.delete(job.id);
      this.idle();
    }
  }

  /**
   * Queued jobs RUNNING under a runner that stopped (no heartbeat for four intervals: kill -9, a lost machine) are
   * handed back to the queue with the attempt counted, or FAILED when that was their last (the dead letter). Several
   * processes may look at once: each job is taken by one (`updateIfStale`).
   */
  private async reap(jobs: readonly Job[]): Promise<void> {
    const before = this.staleBefore();
    for (const job of jobs) {
      const interrupted = `interrupted: the process running the job stopped before it finished (attempt ${job.attempts} of ${job.maxAttempts})`;
      const last = job.attempts >= job.maxAttempts;
      const data: JobUpdate = last
        ? { state: 'FAILED', error: interrupted, finishedAt: new Date() }
        : { state: 'QUEUED', owner: null, error: `${interrupted}; handed back to the queue` };
      if (!(await this.jobs.updateIfStale(job.id, before, data))) continue;
      // the library still holds it locked by the dead runner: released (a last attempt stays failed there too)
      await this.queue.handBack([job.id]);
      const row = await this.jobs.findById(job.id);
      if (row) this.changed(row);
    }
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
    if ((job.state === 'QUEUED' || job.state === 'RUNNING') && !this.running.has(id) && !this.attempts.has(id) && this.isStale(job)) {
      if (job.queued) await this.reap([job]);
      else await this.jobs.failInterrupted(this.staleBefore(), id);
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
    const finished = jobFinished;
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

  /**
   * Jobs in any of `states` (every state when omitted), of one kind if given, newest first, at most `limit` (1-1000).
   * Unfinished jobs of stopped processes are failed first, as `get` does, so a listed RUNNING job is alive.
   */
  async recent(filter: { states?: readonly JobState[]; kind?: string } = {}, limit = 100): Promise<Job[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) throw invalidParameter('limit', `an integer from 1 to ${MAX_LIST}`, limit);
    if (filter.states?.some((s) => !JOB_STATES.includes(s))) {
      throw invalidParameter('state', JOB_STATES.join(', '), filter.states.find((s) => !JOB_STATES.includes(s)));
    }
    const found = await this.jobs.findMany(filter, limit);
    const checked = await Promise.all(found.map((j) => (j.state === 'QUEUED' || j.state === 'RUNNING' ? this.get(j.id) : j)));
    return checked.filter((j) => !filter.states || filter.states.includes(j.state));
  }

  private staleBefore(): Date {
    return new Date(Date.now() - this.orphanAfterMs);
  }

  /**
   * A job whose runner stopped: no heartbeat for four intervals. A queued job that waits (QUEUED) is never stale: it
   * waits for a worker, however long.
   */
  private isStale(job: Job): boolean {
    if (job.queued && job.state !== 'RUNNING') return false;
    return (job.heartbeatAt ?? job.createdAt).getTime() < Date.now() - this.orphanAfterMs;
  }

  async start(
    kind: JobKind,
    params: P.InputJsonObject,
    work: (progress: JobProgress) => Promise<P.InputJsonValue>,
    onProgress?: (done: number, total: number) => void,
  ): Promise<Job> {
    const job = await this.jobs.create(kind, params, 0, this.owner);
    this.changed(job);
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
        this.idle();
      }
    })();
    this.running.set(job.id, run);
    this.startHeartbeat();
    return job;
  }

  /** Writes a job's row and tells the subscribers. */
  private async write(id: number, data: Parameters<JobRepository['update']>[1]): Promise<Job> {
    const row = await this.jobs.update(id, data);
    this.changed(row);
    return row;
  }

  /** Tells this process's subscribers of a row it wrote, and the other processes (`cmir_job`, docs/adr/0027). */
  private changed(row: Job): void {
    this.changes.emit('job', row);
    void this.notifications.publish('cmir_job', { id: row.id, state: row.state });
  }

  /**
   * Listens to the job rows other processes write (once, at start-up): each is read and passed to this process's
   * subscribers (`jobUpdated`, `wait`), when it has any.
   */
  async listen(): Promise<void> {
    await this.notifications.subscribe('cmir_job', (m) => {
      if (typeof m.id !== 'number' || this.changes.listenerCount('job') === 0) return;
      void this.jobs.findById(m.id).then(
        (row) => {
          if (row) this.changes.emit('job', row);
        },
        () => undefined,
      );
    });
  }

  private startHeartbeat(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat().catch(() => undefined), this.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Each heartbeat: touches this process's unfinished jobs; and while it works the queue, stops the jobs it runs that
   * another process cancelled and hands back those whose runner stopped.
   */
  private async beat(): Promise<void> {
    await this.jobs.heartbeat(this.owner);
    if (!this.queue.working || this.queue.name === 'in-process') return;
    for (const job of await this.jobs.cancelRequested(this.owner)) this.attempts.get(job.id)?.abort(new Stopped('cancelled'));
    await this.reap(await this.jobs.findStaleQueued(this.staleBefore()));
  }

  /** Stops the heartbeat when nothing of this process needs it: no job runs, and no queue of other runners is watched. */
  private idle(): void {
    if (this.running.size === 0 && this.attempts.size === 0 && !(this.queue.working && this.queue.name !== 'in-process')) this.stopHeartbeat();
  }

  private stopHeartbeat(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Resolves with the job's final row once it has ended, or with its row as it is after `timeoutMs`. A process that
   * waits for a queued job works the queue (one at a time) if it did not already, so that `cmir reindex` finishes on a
   * Postgres without workers; an API-only replica (`refuseWork`) does not.
   */
  async wait(id: number, opts: { timeoutMs?: number } = {}): Promise<Job> {
    await this.running.get(id);
    const until = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    for (;;) {
      const job = await this.get(id);
      if (jobFinished(job) || Date.now() >= until) return job;
      if (job.queued && !this.queue.working && this.mayWork) await this.work(1);
      await this.changeOf(id, WAIT_POLL_MS);
    }
  }

  /** Resolves at the next row this process writes for job `id`, or after `ms`. */
  private changeOf(id: number, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changes.off('job', seen);
        resolve();
      };
      const seen = (j: Job) => {
        if (j.id === id) done();
      };
      const timer = setTimeout(done, ms);
      this.changes.on('job', seen);
    });
  }

  /** Waits for every job this process runs now (closures and queued attempts) to end; the queue goes on. */
  async drain(): Promise<void> {
    while (this.running.size + this.active.size > 0) await Promise.allSettled([...this.running.values(), ...this.active.values()]);
  }

  /**
   * Stops taking queued jobs and waits for the running ones (shutdown: SIGTERM, `close`): queued attempts may finish
   * for `graceMs`, then they are handed back to the queue; jobs started as closures run to their end.
   */
  async stop(graceMs = 30_000): Promise<void> {
    await this.queue.stop(graceMs);
    await this.drain();
    this.stopHeartbeat();
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
