/**
 * The pipeline's worker threads (src/pipeline/threads, docs/adr/0020): each task runs on a worker thread, not the
 * calling one, and answers exactly what the same function answers on the calling thread (bit for bit), with the
 * shipped vis-nir model (CoMIR networks and learned window descriptor) on generated images.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { ComirManifest } from '../../../src/pipeline/comir/comir.ts';
import { PipelineThreads } from '../../../src/pipeline/threads/pool.ts';
import { type DescriberSpec, runTask } from '../../../src/pipeline/threads/tasks.ts';
import type { GreyImage, PlanarImage } from '../../../src/pipeline/types.ts';
import { REPO_ROOT } from '../../helpers/comir.ts';
import { texturedImage } from '../../helpers/synthetic-images.ts';

const DIR = path.join(REPO_ROOT, 'models', 'vis-nir');
const manifest = JSON.parse(await readFile(path.join(DIR, 'manifest.json'), 'utf8')) as ComirManifest;
const learned: DescriberSpec = { dir: DIR, spec: manifest.window_descriptor! };

const grey = texturedImage(300, 220, 41);
/** Three different textures as R, G, B; a black band on the left (no data at 0). */
function rgb(): PlanarImage {
  const [r, g, b] = [grey, texturedImage(300, 220, 42), texturedImage(300, 220, 43)];
  const data = new Float32Array(300 * 220 * 3);
  for (let i = 0; i < 300 * 220; i++) {
    const black = i % 300 < 40;
    data[3 * i] = black ? 0 : r.data[i];
    data[3 * i + 1] = black ? 0 : g.data[i];
    data[3 * i + 2] = black ? 0 : b.data[i];
  }
  return { width: 300, height: 220, channels: 3, data };
}
const pixels = rgb();

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** Window vectors as comparable values: positions and the vectors' bytes. */
const flat = (ws: { vector: Float32Array }[]) => ws.map(({ vector, ...rest }) => ({ ...rest, vector: bytes(vector).toString('hex') }));

const threads = new PipelineThreads(1);
afterAll(() => threads.close());

/** The threads that ran tasks since `before` (a snapshot of ranOn). */
function ranSince(before: Map<number, number>): number[] {
  return [...threads.ranOn].filter(([id, n]) => n > (before.get(id) ?? 0)).map(([id]) => id);
}

describe('pipeline worker threads', () => {
  it('compute a CoMIR on a worker thread, bit-identical to the calling thread', async () => {
    const before = new Map(threads.ranOn);
    const off = await threads.representation(DIR, 'rgb', pixels);
    const ran = ranSince(before);
    expect(ran).toHaveLength(1);
    expect(ran[0]).not.toBe(threadId);
    const here = (await runTask({ kind: 'representation', dir: DIR, modality: 'rgb', pixels })) as GreyImage;
    expect([off.width, off.height]).toEqual([300, 220]);
    expect(bytes(off.data).equals(bytes(here.data))).toBe(true);
    // a real CoMIR, not a constant: the texture shows through
    const values = new Set(off.data);
    expect(values.size).toBeGreaterThan(100);
  });

  it('describe windows and query squares (learned and box descriptors) on a worker thread, identically', async () => {
    const comir = await threads.representation(DIR, 'nir', { ...grey, channels: 1 });
    for (const describer of [learned, null]) {
      const before = new Map(threads.ranOn);
      const stored = await threads.windowVectors(comir, describer);
      const query = await threads.queryVectors(comir, 30, describer);
      expect(ranSince(before).every((id) => id !== threadId)).toBe(true);
      expect(stored.length).toBeGreaterThan(3);
      expect(query.length).toBeGreaterThan(50);
      expect(flat(stored)).toEqual(flat((await runTask({ kind: 'windowVectors', image: comir, describer })) as typeof stored));
      expect(flat(query)).toEqual(flat((await runTask({ kind: 'queryVectors', image: comir, maxRotation: 30, describer })) as typeof query));
    }
  });

  it('find the no-data mask on a worker thread, identically', async () => {
    const off = await threads.noDataMask(pixels, 0, 8);
    const here = (await runTask({ kind: 'noDataMask', pixels, value: 0, bitDepth: 8 })) as Uint8Array;
    expect(off).not.toBeNull();
    expect(bytes(off!).equals(bytes(here))).toBe(true);
    // the black band (40 columns) is no data, the textures are data
    expect(off!.reduce((n, v) => n + (v === 0 ? 1 : 0), 0)).toBe(40 * 220);
  });

  it('carry a typed error back from the worker', async () => {
    await expect(threads.representation(DIR, 'shg', pixels)).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringContaining('has no network for modality "shg"') });
  });

  it('with 0 threads, run on the calling thread', async () => {
    const inline = new PipelineThreads(0);
    const mask = await inline.noDataMask(pixels, 0, 8);
    expect([...inline.ranOn]).toEqual([[threadId, 1]]);
    expect(bytes(mask!).equals(bytes((await threads.noDataMask(pixels, 0, 8))!))).toBe(true);
  });
});
