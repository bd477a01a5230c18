import { Logger, type Runner, type WorkerUtils, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';

/**
 * Where queued jobs wait and who runs them (docs/adr/0023). The `Job` row (JobService) is what the API reads: state,
 * progress, error, result. A queue only decides which process runs a job, when, and how often: it holds job ids.
 */
export interface JobQueue {
  readonly name: 'in-process' | 'graphile-worker';
  /** Whether this process takes jobs (`work` was called and `stop` was not). */
  readonly working: boolean;
  /** Queues a job (its row is written, QUEUED) for at most `maxAttempts` attempts. */
  enqueue(jobId: number, maxAttempts: number): Promise<void>;
  /**
   * Takes jobs in this process, `concurrency` at a time: `attempt` runs one; when it throws, the attempt failed and
   * the job runs again after a backoff while attempts remain (the last failure is the dead letter: it stays failed).
   */
  work(attempt: AttemptRunner, concurrency: number): Promise<void>;
  /** Removes a job that waits (not one being run); whether it did. */
  cancelQueued(jobId: number): Promise<boolean>;
  /**
   * Hands back jobs whose runner stopped without ending them (kill -9): another worker takes them (their attempt
   * counted). @returns the jobs handed back
   */
  handBack(jobIds: readonly number[]): Promise<number[]>;
  /**
   * Stops taking jobs. Running attempts may finish for `graceMs`; then their `signal` is aborted and they hand their
   * job back (the attempt fails, and another worker runs the job).
   */
  stop(graceMs: number): Promise<void>;
}

export interface Attempt {
  jobId: number;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when this process stops taking jobs and its grace is over. */
  signal: AbortSignal;
}

export type AttemptRunner = (a: Attempt) => Promise<void>;

/**
 * The delay before attempt n+1 after n failed: graphile-worker's own, e^min(n, 10) seconds (2.7 s, 7.4 s, 20 s, ...;
 * node_modules/graphile-worker/dist/sql/failJob.js), so both queues retry alike.
 */
export function retryDelayMs(failedAttempts: number): number {
  return Math.exp(Math.min(failedAttempts, 10)) * 1000;
}

/**
 * The embedded database's queue: jobs run on this process's event loop (it is the database's only process: lock
 * file), started in the order they were queued, `concurrency` at a time, failed attempts retried after
 * `retryDelayMs`. Nothing of it outlives the process: at start-up the jobs a stopped process left are failed
 * (JobService.recover), as before the queue.
 */
export class InProcessQueue implements JobQueue {
  readonly name = 'in-process' as const;
  private runner: AttemptRunner | undefined;
  private concurrency = Infinity;
  private readonly waiting: { jobId: number; attempt: number; maxAttempts: number }[] = [];
  private readonly retries = new Map<number, NodeJS.Timeout>();
  private readonly active = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  private stopped = false;

  /** @param retryDelay the delay before a retry (tests shorten it) */
  constructor(private readonly retryDelay: (failedAttempts: number) => number = retryDelayMs) {}

  get working(): boolean {
    return this.runner !== undefined && !this.stopped;
  }

  async enqueue(jobId: number, maxAttempts: number): Promise<void> {
    this.waiting.push({ jobId, attempt: 1, maxAttempts });
    this.pump();
  }

  async work(attempt: AttemptRunner, concurrency: number): Promise<void> {
    this.runner = attempt;
    this.concurrency = concurrency;
    this.pump();
  }

  async cancelQueued(jobId: number): Promise<boolean> {
    const timer = this.retries.get(jobId);
    if (timer) {
      clearTimeout(timer);
      this.retries.delete(jobId);
      return true;
    }
    const i = this.waiting.findIndex((w) => w.jobId === jobId);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  /** Nothing to hand back: a job of this queue runs in this process or not at all. */
  async handBack(): Promise<number[]> {
    return [];
  }

  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    const timer = setTimeout(() => this.abort.abort(new Error('the process is stopping')), graceMs);
    timer.unref();
    await Promise.allSettled(this.active.values());
    clearTimeout(timer);
  }

  private pump(): void {
    while (this.runner && !this.stopped && this.active.size < this.concurrency && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      const runner = this.runner;
      const run = (async () => {
        try {
          await runner({ ...next, signal: this.abort.signal });
        } catch {
          if (next.attempt < next.maxAttempts && !this.stopped) {
            const timer = setTimeout(() => {
              this.retries.delete(next.jobId);
              this.waiting.push({ ...next, attempt: next.attempt + 1 });
              this.pump();
            }, this.retryDelay(next.attempt));
            this.retries.set(next.jobId, timer);
          }
        } finally {
          this.active.delete(next.jobId);
          this.pump();
        }
      })();
      this.active.set(next.jobId, run);
    }
  }
}

/** The one graphile-worker task: its payload is the `Job` row's id. */
const TASK = 'cmir_job';
/** graphile-worker's job key of a cmir job: one queued job per row (adding it twice replaces it). */
const keyOf = (jobId: number) => `cmir_job:${jobId}`;

/**
 * Jobs on a Postgres server through graphile-worker 0.16.6 (docs/adr/0023): its own schema `graphile_worker`
 * (migrated at first use), `LISTEN/NOTIFY` to start a queued job at once, retries with its backoff, and jobs that
 * reached their last attempt kept as permanently failed. Connections: a pool of its own (`pg`), beside Prisma's.
 */
export class GraphileQueue implements JobQueue {
  readonly name = 'graphile-worker' as const;
  private readonly pool: pg.Pool;
  private utils: Promise<WorkerUtils> | undefined;
  private runner: Runner | undefined;
  private stopping = false;
  private closed = false;
  private readonly logger: Logger;

  /**
   * @param connectionString the database (DATABASE_URL)
   * @param log where the library's warnings and errors go (its info lines, one per job, are dropped)
   */
  constructor(connectionString: string, log: (message: string) => void = (m) => console.error(m)) {
    // 2 + concurrency connections at most are used by a worker (graphile-worker's docs: one per job plus LISTEN);
    // the pool's limit (10, pg's default) bounds it.
    this.pool = new pg.Pool({ connectionString });
    this.pool.on('error', (e) => log(`job queue: idle connection error: ${e.message}`));
    this.logger = new Logger(() => (level, message) => {
      if (level === 'error' || level === 'warning') log(`job queue (${level}): ${message}`);
    });
  }

  get working(): boolean {
    return this.runner !== undefined && !this.stopping;
  }

  private workerUtils(): Promise<WorkerUtils> {
    this.utils ??= makeWorkerUtils({ pgPool: this.pool, logger: this.logger }).then(async (u) => {
      await u.migrate();
      return u;
    });
    return this.utils;
  }

  async enqueue(jobId: number, maxAttempts: number): Promise<void> {
    const utils = await this.workerUtils();
    await utils.addJob(TASK, { jobId }, { jobKey: keyOf(jobId), maxAttempts });
  }

  async work(attempt: AttemptRunner, concurrency: number): Promise<void> {
    if (this.runner) return;
    await this.workerUtils();
    this.runner = await run({
      pgPool: this.pool,
      logger: this.logger,
      concurrency,
      // SIGTERM and SIGINT are the process's to handle (cmir serve, cmir worker), not the library's
      noHandleSignals: true,
      // no scheduled jobs: stated, so that a file named `crontab` in the working folder is never read as ours
      crontab: '',
      taskList: {
        [TASK]: async (payload, helpers) => {
          const { jobId } = payload as { jobId: number };
          // our own signal, aborted when `stop`'s grace is over (the library's own fires after a fixed 5 s)
          const abort = new AbortController();
          this.aborts.add(abort);
          try {
            await attempt({ jobId, attempt: helpers.job.attempts, maxAttempts: helpers.job.max_attempts, signal: abort.signal });
          } finally {
            this.aborts.delete(abort);
          }
        },
      },
    });
  }

  async cancelQueued(jobId: number): Promise<boolean> {
    const utils = await this.workerUtils();
    const found = await this.pool.query<{ id: string }>('select id from graphile_worker.jobs where key = $1 and locked_at is null', [keyOf(jobId)]);
    if (found.rows.length === 0) return false;
    // completing a job deletes it, unless it was locked in the meantime
    const removed = await utils.completeJobs(found.rows.map((r) => r.id));
    return removed.length > 0;
  }

  async handBack(jobIds: readonly number[]): Promise<number[]> {
    if (jobIds.length === 0) return [];
    const utils = await this.workerUtils();
    const locked = await this.pool.query<{ key: string; locked_by: string }>(
      'select key, locked_by from graphile_worker.jobs where key = any($1) and locked_by is not null',
      [jobIds.map(keyOf)],
    );
    if (locked.rows.length === 0) return [];
    await utils.forceUnlockWorkers([...new Set(locked.rows.map((r) => r.locked_by))]);
    return locked.rows.map((r) => Number(r.key.slice(r.key.indexOf(':') + 1)));
  }

  async stop(graceMs: number): Promise<void> {
    if (this.closed) return;
    if (this.runner && !this.stopping) {
      this.stopping = true;
      // graphile-worker stops taking jobs and waits for the running ones; past the grace their signal is aborted, and
      // an aborted attempt hands its job back (JobService): it fails, and the library queues it again.
      const timer = setTimeout(() => this.abortRunning(), graceMs);
      timer.unref();
      await this.runner.stop();
      clearTimeout(timer);
    }
    this.closed = true;
    if (this.utils) await (await this.utils.catch(() => undefined))?.release();
    await this.pool.end();
  }

  /** Attempts still running when the grace is over are aborted (see `work`). */
  private readonly aborts = new Set<AbortController>();
  private abortRunning(): void {
    for (const a of this.aborts) a.abort(new Error('the worker is stopping'));
  }
}
