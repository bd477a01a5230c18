/**
 * The heavy synchronous steps of ingestion and search, as tasks a worker thread runs (pool.ts): measured with
 * bench/event-loop.ts (docs/adr/0020), they held the event loop for seconds at a time on the main thread. Each task
 * calls the same pipeline function the main thread called before, so its result is the same, bit for bit.
 *
 * - `representation`: a CoMIR (comir.ts ComirModel.representation: normalisation, onnxruntime, 16-bit quantisation).
 *   onnxruntime-node's `session.run` is synchronous under its Promise (it runs the graph in a setImmediate callback,
 *   onnxruntime-node/dist/backend.js), so on the main thread a 1024 x 680 CoMIR stopped every request for 1-4 s.
 * - `windowVectors` / `queryVectors`: the first stage's window samples and their descriptor (embedding.ts, and the
 *   learned descriptor's onnxruntime run, window-descriptor.ts).
 * - `noDataMask`: the no-data mask of decoded pixels (decode/nodata.ts, an opening over every pixel).
 * - `loadModel`: loads (and checks) a CoMIR model in the worker ahead of its first use (the server's /readyz).
 *
 * Pure like the rest of src/pipeline: models are read from their folders, nothing else. Models and describers are
 * loaded once per thread and kept.
 */
import { threadId } from 'node:worker_threads';
import { AppError } from '../../errors.ts';
import { type ComirModel, loadComirModel, type WindowDescriptorManifest } from '../comir/comir.ts';
import { noDataMask } from '../decode/nodata.ts';
import { BOX_DESCRIBER, queryVectors, type QueryVector, type WindowDescriber, windowVectors, type WindowVector } from '../index/embedding.ts';
import { LearnedDescriber } from '../index/window-descriptor.ts';
import type { GreyImage, PlanarImage } from '../types.ts';

/** A learned window descriptor, named by its model folder and manifest entry; null is the box vector (embedding.ts). */
export type DescriberSpec = { dir: string; spec: WindowDescriptorManifest } | null;

export type Task =
  | { kind: 'loadModel'; dir: string }
  | { kind: 'representation'; dir: string; modality: string; pixels: PlanarImage }
  | { kind: 'windowVectors'; image: GreyImage; describer: DescriberSpec }
  | { kind: 'queryVectors'; image: GreyImage; maxRotation: number; describer: DescriberSpec }
  | { kind: 'noDataMask'; pixels: PlanarImage; value: number; bitDepth: number };

export interface TaskResults {
  loadModel: null;
  representation: GreyImage;
  windowVectors: WindowVector[];
  queryVectors: QueryVector[];
  noDataMask: Uint8Array | null;
}

/** What a task answers across threads: its value and the thread that computed it, or the typed error it threw. */
export type Reply<K extends Task['kind'] = Task['kind']> =
  | { value: TaskResults[K]; threadId: number }
  | { error: { code: AppError['code']; message: string; details: Record<string, unknown> }; threadId: number };

const models = new Map<string, Promise<ComirModel>>();
const describers = new Map<string, Promise<WindowDescriber>>();

function model(dir: string): Promise<ComirModel> {
  let m = models.get(dir);
  if (!m) {
    m = loadComirModel(dir);
    models.set(dir, m);
    m.catch(() => models.delete(dir));
  }
  return m;
}

/** The describer of a spec (the box vector for null), loaded once per thread. */
export function describerOf(d: DescriberSpec): Promise<WindowDescriber> {
  if (!d) return Promise.resolve(BOX_DESCRIBER);
  const key = `${d.dir}|${d.spec.sha256}`;
  let x = describers.get(key);
  if (!x) {
    x = LearnedDescriber.load(d.dir, d.spec);
    describers.set(key, x);
    x.catch(() => describers.delete(key));
  }
  return x;
}

/** Runs one task on the calling thread. */
export async function runTask(task: Task): Promise<TaskResults[Task['kind']]> {
  switch (task.kind) {
    case 'loadModel':
      await model(task.dir);
      return null;
    case 'representation':
      return (await model(task.dir)).representation(task.modality, task.pixels);
    case 'windowVectors':
      return windowVectors(task.image, await describerOf(task.describer));
    case 'queryVectors':
      return queryVectors(task.image, task.maxRotation, await describerOf(task.describer));
    case 'noDataMask':
      return noDataMask(task.pixels, task.value, task.bitDepth);
  }
}

/** runTask as a reply: a typed error (AppError) is carried as data, since a thread boundary keeps no classes. */
export async function replyTo(task: Task): Promise<Reply> {
  try {
    return { value: await runTask(task), threadId };
  } catch (e) {
    if (e instanceof AppError) return { error: { code: e.code, message: e.message, details: e.details }, threadId };
    throw e;
  }
}

/** The buffers of a result, to move to the caller rather than copy. */
export function buffersOf(value: TaskResults[Task['kind']]): ArrayBuffer[] {
  if (value === null) return [];
  if (value instanceof Uint8Array) return [value.buffer as ArrayBuffer];
  if (Array.isArray(value)) return value.map((w) => w.vector.buffer as ArrayBuffer);
  return [value.data.buffer as ArrayBuffer];
}

/** Releases this thread's onnxruntime sessions. */
export async function releaseAll(): Promise<void> {
  const all = [...models.values()];
  const ds = [...describers.values()];
  models.clear();
  describers.clear();
  for (const m of all) await (await m.catch(() => null))?.release();
  for (const d of ds) {
    const x = await d.catch(() => null);
    if (x instanceof LearnedDescriber) await x.release();
  }
}
