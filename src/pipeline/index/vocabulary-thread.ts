/**
 * k-means off the calling thread. `trainVocabulary` is synchronous and runs for minutes on real repositories (a
 * 20,000-word vocabulary from 2 M descriptors: bench/results/vocabulary.md), and its assignment pool blocks its thread
 * in Atomics.wait. Run on the server's main thread, that froze every request for the whole build. Here it runs in a
 * worker thread (which starts the assignment workers itself) and the caller awaits the same result: same code, same
 * seed, same centroids.
 */
import { Worker } from 'node:worker_threads';
import { workerScript } from '../ts-worker.ts';
import type { TrainingReport, TrainVocabularyOptions, Vocabulary } from './vocabulary.ts';

export interface OffThreadOptions extends TrainVocabularyOptions {
  /**
   * Move `descriptors` (and `strengths`) to the worker instead of copying them: saves a copy of up to
   * MAX_TRAINING_DESCRIPTORS x 256 bytes, and leaves the caller's arrays detached (length 0). Default false.
   */
  transfer?: boolean;
}

/** @internal the worker's input */
export interface ThreadRequest {
  descriptors: Float32Array;
  dim: number;
  opts: Omit<TrainVocabularyOptions, 'onProgress'>;
}

/** @internal the worker's messages */
export type ThreadMessage =
  | { kind: 'progress'; iteration: number; total: number }
  | { kind: 'done'; vocabulary: Vocabulary & { report: TrainingReport } }
  | { kind: 'error'; name: string; message: string };

/** `trainVocabulary` in a worker thread; `onProgress` is called on this thread. Rejects with the trainer's error. */
export function trainVocabularyOffThread(
  descriptors: Float32Array,
  dim: number,
  options: OffThreadOptions,
): Promise<Vocabulary & { report: TrainingReport }> {
  const { onProgress, transfer = false, ...opts } = options;
  const request: ThreadRequest = { descriptors, dim, opts };
  const transferList = transfer
    ? [descriptors.buffer, opts.strengths?.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer)
    : [];
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
    };
    const worker = new Worker(workerScript('pipeline/index/vocabulary-thread-worker'), {
      eval: true,
      workerData: request,
      transferList,
    });
    worker.on('message', (m: ThreadMessage) => {
      if (m.kind === 'progress') onProgress?.(m.iteration, m.total);
      else if (m.kind === 'done') settle(() => resolve(m.vocabulary));
      else settle(() => reject(Object.assign(m.name === 'RangeError' ? new RangeError(m.message) : new Error(m.message), { name: m.name })));
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', (code) => settle(() => reject(new Error(`vocabulary training thread exited (code ${code}) without a result`))));
  });
}
