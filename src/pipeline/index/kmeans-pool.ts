/**
 * Synchronous multi-threaded driver of the k-means assignment step. `trainVocabulary` is synchronous (its callers
 * expect a value, not a Promise), so the main thread does not await messages: it shares the data, centroids and
 * results with worker threads through SharedArrayBuffers, wakes them with Atomics.notify, takes chunks itself too, and
 * blocks in Atomics.wait until they are done. Results are identical for any number of threads (kmeans-assign.ts).
 *
 * Workers run kmeans-assign-worker.ts (started through ts-worker.ts, from the sources or dist/). If a worker cannot start
 * or fails, training continues on the main thread alone.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { KdTree } from './kdtree.ts';
import { ASSIGN_CHUNK, type AssignShared, CTRL, runChunks } from './kmeans-assign.ts';
import { workerScript } from '../ts-worker.ts';

/** Longest wait for workers to start (tsx compiles the worker's modules: ~0.35 s measured here; generous for CI). */
const START_TIMEOUT_MS = 60_000;

/** Default thread count: every core the process may use (os.availableParallelism), at most 8. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

function assignWorkerScript(): string {
  // a worker that cannot load reports itself failed (and ready) instead of leaving the main thread waiting
  return workerScript('pipeline/index/kmeans-assign-worker', `const ctrl = new Int32Array(workerData.ctrl);
  Atomics.store(ctrl, ${CTRL.failed}, 1); Atomics.add(ctrl, ${CTRL.ready}, 1); Atomics.notify(ctrl, ${CTRL.ready});`);
}

/** Shared state of one training run; `threads - 1` workers plus the main thread. */
export class AssignPool {
  readonly data: Float32Array;
  readonly centroids: Float32Array;
  readonly assign: Int32Array;
  readonly dist: Float32Array;
  private readonly chunkSse: Float64Array;
  private readonly ctrl: Int32Array;
  private workers: Worker[] = [];
  private ready = false;

  /**
   * @param data n * dim values; copied into shared memory when threads > 1
   * @param maxK number of centroid rows to reserve
   */
  constructor(data: Float32Array, private readonly dim: number, private readonly n: number, maxK: number,
    private readonly checks: number, threads: number) {
    const shared = threads > 1;
    const buf = (bytes: number): ArrayBuffer | SharedArrayBuffer => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    if (shared) {
      this.data = new Float32Array(buf(n * dim * 4));
      this.data.set(data.subarray(0, n * dim));
    } else {
      this.data = data;
    }
    this.centroids = new Float32Array(buf(maxK * dim * 4));
    this.assign = new Int32Array(buf(n * 4)).fill(-1);
    this.dist = new Float32Array(buf(n * 4));
    this.chunkSse = new Float64Array(buf(Math.ceil(n / ASSIGN_CHUNK) * 8));
    this.ctrl = new Int32Array(buf(CTRL.size * 4));
    if (shared) this.start(threads - 1);
  }

  /** Threads in use (1 = main thread only); final once the first assignment step has run. */
  get threads(): number {
    this.waitReady();
    return this.workers.length + 1;
  }

  private start(nWorkers: number): void {
    const workerData: AssignShared = {
      dim: this.dim, n: this.n, checks: this.checks,
      ctrl: this.ctrl.buffer as SharedArrayBuffer, data: this.data.buffer as SharedArrayBuffer,
      centroids: this.centroids.buffer as SharedArrayBuffer, assign: this.assign.buffer as SharedArrayBuffer,
      dist: this.dist.buffer as SharedArrayBuffer, chunkSse: this.chunkSse.buffer as SharedArrayBuffer,
    };
    const script = assignWorkerScript();
    try {
      for (let w = 0; w < nWorkers; w++) {
        const worker = new Worker(script, { eval: true, workerData });
        worker.unref();
        worker.on('error', () => Atomics.store(this.ctrl, CTRL.failed, 1));
        this.workers.push(worker);
      }
    } catch {
      this.close();
    }
  }

  /** Waits (blocking) until every worker has started; workers that do not start in time are dropped. */
  private waitReady(): void {
    if (this.ready) return;
    this.ready = true;
    const nWorkers = this.workers.length;
    if (nWorkers === 0) return;
    const t0 = Date.now();
    for (;;) {
      const r = Atomics.load(this.ctrl, CTRL.ready);
      if (r >= nWorkers) break;
      const left = START_TIMEOUT_MS - (Date.now() - t0);
      if (left <= 0 || Atomics.wait(this.ctrl, CTRL.ready, r, left) === 'timed-out') break;
    }
    if (Atomics.load(this.ctrl, CTRL.ready) < nWorkers || Atomics.load(this.ctrl, CTRL.failed) !== 0) this.close();
  }

  /**
   * One assignment step over all points with the first k rows of `centroids`.
   * @returns the sum of squared distances (added in chunk order)
   */
  assignAll(k: number, seed: number): number {
    this.waitReady();
    const ctrl = this.ctrl;
    const nW = this.workers.length;
    Atomics.store(ctrl, CTRL.seed, seed);
    Atomics.store(ctrl, CTRL.k, k);
    Atomics.store(ctrl, CTRL.nextChunk, 0);
    Atomics.store(ctrl, CTRL.done, 0);
    Atomics.store(ctrl, CTRL.command, 1);
    if (nW > 0) {
      Atomics.add(ctrl, CTRL.generation, 1);
      Atomics.notify(ctrl, CTRL.generation);
    }
    const tree = new KdTree(this.centroids.subarray(0, k * this.dim), this.dim, seed);
    runChunks(tree, ctrl, this.data, this.centroids, this.dim, this.n, this.checks, this.assign, this.dist, this.chunkSse);
    for (;;) {
      const d = Atomics.load(ctrl, CTRL.done);
      if (d >= nW) break;
      Atomics.wait(ctrl, CTRL.done, d, 1000);
      if (Atomics.load(ctrl, CTRL.failed) !== 0) break;
    }
    if (Atomics.load(ctrl, CTRL.failed) !== 0) {
      // a worker died (its chunk may be lost): finish alone from here on; every chunk is redone, which can only keep
      // or improve assignments
      this.close();
      Atomics.store(ctrl, CTRL.nextChunk, 0);
      Atomics.store(ctrl, CTRL.failed, 0);
      runChunks(tree, ctrl, this.data, this.centroids, this.dim, this.n, this.checks, this.assign, this.dist, this.chunkSse);
    }
    let total = 0;
    for (let c = 0; c < this.chunkSse.length; c++) total += this.chunkSse[c];
    return total;
  }

  /** Stops the workers (idempotent). */
  close(): void {
    if (this.workers.length === 0) return;
    Atomics.store(this.ctrl, CTRL.command, 2);
    Atomics.add(this.ctrl, CTRL.generation, 1);
    Atomics.notify(this.ctrl, CTRL.generation);
    for (const w of this.workers) void w.terminate();
    this.workers = [];
  }
}
