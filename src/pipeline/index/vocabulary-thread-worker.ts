/**
 * Worker thread of `trainVocabularyOffThread` (vocabulary-thread.ts): runs `trainVocabulary` here, where blocking is
 * harmless, and posts its progress and result to the parent. Started through ts-worker.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { trainVocabulary } from './vocabulary.ts';
import type { ThreadRequest, ThreadMessage } from './vocabulary-thread.ts';

const { descriptors, dim, opts } = workerData as ThreadRequest;
const post = (m: ThreadMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);
try {
  const v = trainVocabulary(descriptors, dim, { ...opts, onProgress: (iteration, total) => post({ kind: 'progress', iteration, total }) });
  post({ kind: 'done', vocabulary: v }, [v.centroids.buffer as ArrayBuffer]);
} catch (e) {
  const err = e as Error;
  post({ kind: 'error', name: err.name, message: err.message });
}
