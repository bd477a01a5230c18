/**
 * Dense correlation (correlate.ts) of one query with many candidates on worker threads. Correlating a vis-nir query
 * with 160 candidates over 39 poses takes 20-36 s on one core (bench/results/vis-nir-quick.md), which on the main
 * thread would also stall every other request; here the main thread only loads candidates (file reads, decoding,
 * cached) and hands them out, and `threads` workers correlate them. Results are those of correlateJoint, in the
 * order candidates were added, whatever thread computed them.
 *
 * Workers run correlate-worker.ts (started through ts-worker.ts, from the sources or dist/). With one thread, or if a worker cannot
 * start or fails, the candidates it held are correlated on the main thread instead.
 */
import { Worker } from 'node:worker_threads';
import {
  type CorrelateOptions,
  type CorrelatedMatch,
  correlateJoint,
  correlationFactor,
  type JointCandidate,
  prepareSignals,
  type QuerySignal,
  type WeightedQuery,
} from './correlate.ts';
import { defaultThreads } from '../index/kmeans-pool.ts';
import { workerScript } from '../ts-worker.ts';

/** Main thread -> worker. */
export type CorrelateRequest =
  | { type: 'query'; job: number; signals: readonly QuerySignal[]; opts: CorrelateOptions }
  | { type: 'candidate'; job: number; seq: number; candidate: JointCandidate<number> }
  | { type: 'end'; job: number };

/** Worker -> main thread: one candidate's match, or why it failed. */
export type CorrelateReply = { job: number; seq: number; match?: CorrelatedMatch<number>; error?: string };

interface Pending {
  candidate: JointCandidate<number>;
  session: PoolSession;
  worker: PoolWorker;
}

interface PoolWorker {
  worker: Worker;
  busy: number;
  alive: boolean;
}

/** One query's correlation: add candidates as they are loaded, then finish() for the matches in insertion order. */
export interface CorrelationSession {
  /** The query's downsampling factor: candidates are added at this working scale (correlate.ts workingImage). */
  readonly factor: number;
  /** A candidate in every signal of the session, in the session's order. */
  add(candidate: JointCandidate<number>): void;
  finish(): Promise<CorrelatedMatch<number>[]>;
}

export class CorrelationPool {
  private workers: PoolWorker[] | null = null;
  private readonly pending = new Map<string, Pending>();
  private nextJob = 1;

  /** @param threads worker threads (default: os.availableParallelism, at most 8); 1 = the calling thread only */
  constructor(private readonly threads = defaultThreads()) {}

  /** Worker threads running now (0 before the first session, with one thread, or after close). */
  get liveWorkers(): number {
    return (this.workers ?? []).filter((w) => w.alive).length;
  }

  /**
   * One query's correlation in one or more signals (the query already in each signal's source image: the CoMIR, the
   * grey pixels for structure); the score is their weighted sum at one pose (correlate.ts correlateJoint).
   */
  session(signals: readonly QuerySignal[], opts: CorrelateOptions): CorrelationSession {
    if (signals.length === 0) throw new Error('a correlation session needs at least one signal');
    const workers = this.threads > 1 ? this.start() : [];
    return new PoolSession(this, this.nextJob++, signals, opts, workers);
  }

  /** Stops the workers; sessions still open finish on the calling thread. */
  async close(): Promise<void> {
    const workers = this.workers ?? [];
    this.workers = [];
    for (const w of workers) this.fail(w);
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  private start(): PoolWorker[] {
    if (this.workers) return this.workers.filter((w) => w.alive);
    this.workers = [];
    const script = workerScript('pipeline/rerank/correlate-worker');
    for (let t = 0; t < this.threads; t++) {
      let w: PoolWorker;
      try {
        w = { worker: new Worker(script, { eval: true }), busy: 0, alive: true };
      } catch {
        break;
      }
      w.worker.unref(); // idle workers do not keep the process alive; ref'd while they hold work (send)
      w.worker.on('message', (r: CorrelateReply) => this.reply(w, r));
      w.worker.on('error', () => this.fail(w));
      w.worker.on('exit', () => this.fail(w));
      this.workers.push(w);
    }
    return this.workers;
  }

  /** @internal */
  send(w: PoolWorker, m: CorrelateRequest, p?: Pending & { seq: number }): void {
    if (p) {
      this.pending.set(`${m.job}:${p.seq}`, p);
      if (w.busy++ === 0) w.worker.ref();
    }
    w.worker.postMessage(m);
  }

  private reply(w: PoolWorker, r: CorrelateReply): void {
    const key = `${r.job}:${r.seq}`;
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    if (--w.busy === 0) w.worker.unref();
    if (r.match) p.session.resolve(r.seq, r.match);
    else p.session.fallback(r.seq, p.candidate); // the worker could not (its error is not the caller's): here instead
  }

  /** A worker died or was stopped: what it held is correlated on the calling thread. */
  private fail(w: PoolWorker): void {
    if (!w.alive) return;
    w.alive = false;
    for (const [key, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(key);
      p.session.fallback(Number(key.split(':')[1]), p.candidate);
    }
    w.busy = 0;
    w.worker.unref();
  }
}

class PoolSession implements CorrelationSession {
  readonly factor: number;
  private readonly results: (CorrelatedMatch<number> | undefined)[] = [];
  private outstanding = 0;
  private done: (() => void) | null = null;
  private prepared: WeightedQuery[] | null = null;

  constructor(
    private readonly pool: CorrelationPool,
    private readonly job: number,
    private readonly signals: readonly QuerySignal[],
    private readonly opts: CorrelateOptions,
    private readonly workers: PoolWorker[],
  ) {
    this.factor = correlationFactor(signals[0].image, opts.workingSize, opts.largestCandidate, opts.maxCandidateSize);
    for (const w of workers) pool.send(w, { type: 'query', job, signals, opts });
  }

  add(candidate: JointCandidate<number>): void {
    const seq = this.results.length;
    this.results.push(undefined);
    // the least busy live worker (candidates of one query cost about the same); none: this thread
    const w = this.workers.filter((x) => x.alive).reduce<PoolWorker | null>((a, b) => (a === null || b.busy < a.busy ? b : a), null);
    if (!w) {
      this.results[seq] = this.here(candidate);
      return;
    }
    this.outstanding++;
    this.pool.send(w, { type: 'candidate', job: this.job, seq, candidate }, { candidate, session: this, worker: w, seq });
  }

  /** @internal a worker's match */
  resolve(seq: number, match: CorrelatedMatch<number>): void {
    this.results[seq] = match;
    if (--this.outstanding === 0) this.done?.();
  }

  /** @internal a candidate a worker held but could not correlate (it failed or was stopped): on this thread */
  fallback(seq: number, candidate: JointCandidate<number>): void {
    this.resolve(seq, this.here(candidate));
  }

  private here(candidate: JointCandidate<number>): CorrelatedMatch<number> {
    this.prepared ??= prepareSignals(this.signals, this.opts);
    return correlateJoint(this.prepared, candidate);
  }

  async finish(): Promise<CorrelatedMatch<number>[]> {
    if (this.outstanding > 0) await new Promise<void>((resolve) => (this.done = resolve));
    for (const w of this.workers) if (w.alive) this.pool.send(w, { type: 'end', job: this.job });
    return this.results as CorrelatedMatch<number>[];
  }
}
