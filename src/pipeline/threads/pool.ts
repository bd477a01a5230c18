/**
 * The pipeline's heavy steps (tasks.ts) on worker threads, so that the main thread keeps serving requests while an
 * image is ingested or a query is searched (issue 19 item 4, docs/adr/0020). A Piscina pool (maintained, Node >= 20):
 * it queues tasks, starts workers lazily and replaces one that dies.
 *
 * Results are those of the same functions on the main thread, bit for bit (test/unit/pipeline/threads.test.ts).
 * With 0 threads, or when no worker can be started, tasks run on the calling thread.
 */
import { threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { AppError } from '../../errors.ts';
import { defaultThreads } from '../index/kmeans-pool.ts';
import { compiledWorker } from '../ts-worker.ts';
import type { GreyImage, PlanarImage } from '../types.ts';
import { type DescriberSpec, type Reply, runTask, type Task, type TaskResults } from './tasks.ts';

export type { DescriberSpec } from './tasks.ts';

export class PipelineThreads {
  private pool: Piscina | null = null;
  /** Set when a worker could not run a task for a reason of its own (not the task's): the calling thread from then on. */
  private broken = false;
  /** How many tasks ran on each thread (by threadId; the calling thread's is node:worker_threads `threadId`). */
  readonly ranOn = new Map<number, number>();

  /**
   * @param threads worker threads (default: one per core, at most 8; the server passes CMIR_PIPELINE_THREADS, default 1,
   *   src/config.ts); 0 = the calling thread only
   */
  constructor(readonly threads = defaultThreads()) {}

  /** Loads the CoMIR model in `dir` (manifest and sha256 checked, comir.ts loadComirModel) on a worker thread. */
  async loadModel(dir: string): Promise<void> {
    await this.run({ kind: 'loadModel', dir });
  }

  /** The CoMIR of pixels of `modality` by the model in `dir` (ComirModel.representation). */
  representation(dir: string, modality: string, pixels: PlanarImage): Promise<GreyImage> {
    return this.run({ kind: 'representation', dir, modality, pixels }) as Promise<TaskResults['representation']>;
  }

  /** An image's stored window vectors (embedding.ts windowVectors). */
  windowVectors(image: GreyImage, describer: DescriberSpec) {
    return this.run({ kind: 'windowVectors', image, describer }) as Promise<TaskResults['windowVectors']>;
  }

  /** A query's window vectors (embedding.ts queryVectors). */
  queryVectors(image: GreyImage, maxRotation: number, describer: DescriberSpec) {
    return this.run({ kind: 'queryVectors', image, maxRotation, describer }) as Promise<TaskResults['queryVectors']>;
  }

  /** Where decoded pixels have data (decode/nodata.ts noDataMask). */
  noDataMask(pixels: PlanarImage, value: number, bitDepth: number) {
    return this.run({ kind: 'noDataMask', pixels, value, bitDepth }) as Promise<TaskResults['noDataMask']>;
  }

  private async run(task: Task): Promise<TaskResults[Task['kind']]> {
    if (this.threads === 0 || this.broken) return this.here(task);
    let reply: Reply;
    try {
      reply = await this.start().run(task);
    } catch (e) {
      // an error a task throws that is not an AppError is a bug: the same on any thread, so it is the caller's
      if (!isWorkerFailure(e)) throw e;
      this.broken = true;
      console.warn(`[cmir] pipeline worker threads unavailable, working on the main thread: ${(e as Error).message}`);
      return this.here(task);
    }
    this.count(reply.threadId);
    if ('error' in reply) throw Object.assign(new AppError(reply.error.code, reply.error.message, reply.error.details), { name: 'AppError' });
    return reply.value;
  }

  private here(task: Task): Promise<TaskResults[Task['kind']]> {
    this.count(threadId);
    return runTask(task);
  }

  private count(id: number): void {
    this.ranOn.set(id, (this.ranOn.get(id) ?? 0) + 1);
  }

  private start(): Piscina {
    this.pool ??= new Piscina({
      // compiled (dist/, docs/adr/0019): the bundled worker; from the sources: the entry that registers tsx first
      filename: compiledWorker('pipeline/threads/worker') ?? new URL('./worker-entry.mjs', import.meta.url).href,
      minThreads: 0,
      maxThreads: this.threads,
      // workers stay while requests come (each start compiles the worker's modules with tsx and loads the models again)
      idleTimeout: 60_000,
    });
    return this.pool;
  }

  /** Stops the workers; later tasks start new ones. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }
}

/** A failure of the worker itself (it could not start or load its modules), not of the task. */
function isWorkerFailure(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return e instanceof Error && (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_WORKER_INIT_FAILED' || /worker|terminated/i.test(e.message));
}
