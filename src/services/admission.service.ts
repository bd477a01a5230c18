import pLimit from 'p-limit';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { AdmissionLimits } from '../config.ts';
import { RateLimitedError, ServerBusyError } from '../errors.ts';
import type { Principal } from './auth.ts';

/** Who a limit counts against: the key, or one bucket for every request without one. */
function bucketOf(principal: Principal): string {
  return principal.kind === 'key' ? `key:${principal.actor.keyId ?? principal.actor.name}` : 'anonymous';
}

/**
 * What one server admits of the heavy requests (docs/adr/0024): searches and uploads per API key per minute, and
 * searches running at once, with a short queue behind them (limits: config.ts AdmissionLimits). A request over a
 * limit is answered at once with a typed error and when to retry, instead of queueing behind work the machine cannot
 * do: before this (bench:load, 2 searches/s asking 8.6 CPU-seconds a second of 2 cores) every listing waited behind
 * the searches, p99 51 s.
 */
export class AdmissionService {
  private readonly searchRate: RateLimiterMemory | null;
  private readonly uploadRate: RateLimiterMemory | null;
  private readonly running: ReturnType<typeof pLimit>;
  /**
   * The running time of recent searches (ms), for the Retry-After of a busy answer. It starts at 2 s, below the default
   * search's p50 at N = 1,000 on 2 cores (3.4 s whole, 3.7 s crop: bench/results/scale-retrieval-1000-cascade.md), so a
   * first busy answer errs short rather than long; from the first search on it follows the measured times.
   */
  private recentMs = 2000;

  constructor(private readonly limits: AdmissionLimits) {
    this.searchRate = limits.searchesPerMinute > 0 ? new RateLimiterMemory({ points: limits.searchesPerMinute, duration: 60 }) : null;
    this.uploadRate = limits.uploadsPerMinute > 0 ? new RateLimiterMemory({ points: limits.uploadsPerMinute, duration: 60 }) : null;
    this.running = pLimit(limits.searchConcurrency);
  }

  /** Counts an upload against the principal's rate; throws RATE_LIMITED over it. */
  async upload(principal: Principal): Promise<void> {
    await this.consume(this.uploadRate, principal, 'uploads and ingestions', this.limits.uploadsPerMinute);
  }

  /**
   * Runs a search when the principal is under its rate and the server has room: at most `searchConcurrency` at once
   * and `searchQueue` waiting; past that, SERVER_BUSY at once with the time a queued search would have waited.
   */
  async search<T>(principal: Principal, run: () => Promise<T>): Promise<T> {
    await this.consume(this.searchRate, principal, 'searches', this.limits.searchesPerMinute);
    if (this.running.activeCount >= this.limits.searchConcurrency && this.running.pendingCount >= this.limits.searchQueue) {
      const waitMs = ((this.running.pendingCount + 1) * this.recentMs) / this.limits.searchConcurrency;
      throw new ServerBusyError(
        `the server is running ${this.running.activeCount} searches with ${this.running.pendingCount} waiting (CMIR_SEARCH_CONCURRENCY, CMIR_SEARCH_QUEUE): retry later`,
        Math.max(1, Math.ceil(waitMs / 1000)),
      );
    }
    return this.running(async () => {
      const t0 = performance.now();
      try {
        return await run();
      } finally {
        // an exponential mean of the last few searches' times (a weight of 1/4: the newest counts, one outlier fades)
        this.recentMs += (performance.now() - t0 - this.recentMs) / 4;
      }
    });
  }

  /** Searches running and waiting now (the readiness probe and tests read it). */
  get searches(): { running: number; waiting: number } {
    return { running: this.running.activeCount, waiting: this.running.pendingCount };
  }

  private async consume(limiter: RateLimiterMemory | null, principal: Principal, what: string, perMinute: number): Promise<void> {
    if (!limiter) return;
    try {
      await limiter.consume(bucketOf(principal));
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      const seconds = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
      throw new RateLimitedError(`more than ${perMinute} ${what} a minute from this ${principal.kind === 'key' ? 'API key' : 'client (anonymous)'}: retry in ${seconds} s`, seconds);
    }
  }
}
