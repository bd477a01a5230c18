/**
 * Worker thread of the k-means assignment step (kmeans-pool.ts). Loaded through tsx's ESM hooks, which the pool
 * registers inside the worker before importing this file. Talks to the main thread only through shared memory and
 * Atomics (the main thread blocks in Atomics.wait while training, so no message would ever be delivered to it).
 */
import { workerData } from 'node:worker_threads';
import { type AssignShared, CTRL, runChunks } from './kmeans-assign.ts';
import { KdTree } from './kdtree.ts';

const sh = workerData as AssignShared;
const ctrl = new Int32Array(sh.ctrl);
const data = new Float32Array(sh.data);
const centroids = new Float32Array(sh.centroids);
const assign = new Int32Array(sh.assign);
const dist = new Float32Array(sh.dist);
const chunkSse = new Float64Array(sh.chunkSse);

let seen = Atomics.load(ctrl, CTRL.generation);
Atomics.add(ctrl, CTRL.ready, 1);
Atomics.notify(ctrl, CTRL.ready);
for (;;) {
  Atomics.wait(ctrl, CTRL.generation, seen);
  const g = Atomics.load(ctrl, CTRL.generation);
  if (g === seen) continue;
  seen = g;
  if (Atomics.load(ctrl, CTRL.command) !== 1) break;
  try {
    const k = Atomics.load(ctrl, CTRL.k);
    const tree = new KdTree(centroids.subarray(0, k * sh.dim), sh.dim, Atomics.load(ctrl, CTRL.seed));
    runChunks(tree, ctrl, data, centroids, sh.dim, sh.n, sh.checks, assign, dist, chunkSse);
  } catch {
    Atomics.store(ctrl, CTRL.failed, 1);
  }
  Atomics.add(ctrl, CTRL.done, 1);
  Atomics.notify(ctrl, CTRL.done);
}
