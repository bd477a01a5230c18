import { afterAll, describe, expect, it } from 'vitest';
import { CorrelationPool } from '../../../src/pipeline/rerank/correlate-pool.ts';
import {
  type CorrelatedMatch,
  correlateCandidate,
  correlateJoint,
  correlationPoses,
  downsample,
  prepareCorrelation,
  prepareSignals,
  workingImage,
} from '../../../src/pipeline/rerank/correlate.ts';
import type { GreyImage } from '../../../src/pipeline/types.ts';
import { rotatedView, texturedImage } from '../../helpers/synthetic-images.ts';

const SIZE = 192;
const images = Array.from({ length: 6 }, (_, i) => texturedImage(SIZE, SIZE, 7300 + i));
// one candidate with no data in its right third (NaN), as an image ingested with noDataValue
images[4] = { ...images[4], data: images[4].data.map((v, i) => (i % SIZE >= 128 ? Number.NaN : v)) };
const query = rotatedView(images[2], SIZE / 2, SIZE / 2, 12, 110, 100);
const opts = { largestCandidate: SIZE, ...correlationPoses(20, 0.1) };

/** The serial computation the pool must reproduce. */
function serial(): CorrelatedMatch<number>[] {
  const q = prepareCorrelation(query, opts);
  return images.map((img, i) => correlateCandidate(q, { entryId: i, image: downsample(img, q.factor), width: SIZE, height: SIZE }));
}

async function pooled(pool: CorrelationPool, stopAfter?: number): Promise<CorrelatedMatch<number>[]> {
  const s = pool.session([{ image: query, signal: 'value', weight: 1 }], opts);
  for (const [i, img] of images.entries()) {
    s.add({ entryId: i, images: [downsample(img, s.factor)], width: SIZE, height: SIZE });
    if (i === stopAfter) await pool.close();
  }
  return s.finish();
}

describe('correlation on worker threads (CorrelationPool)', () => {
  const expected = serial();
  const pools: CorrelationPool[] = [];
  afterAll(() => Promise.all(pools.map((p) => p.close())));

  it('gives exactly the serial matches, in the order the candidates were added, from two workers', async () => {
    const pool = new CorrelationPool(2);
    pools.push(pool);
    const got = await pooled(pool);
    expect(pool.liveWorkers).toBe(2);
    expect(got).toEqual(expected);
    expect(got.map((m) => m.entryId)).toEqual([0, 1, 2, 3, 4, 5]);
    // and the query is found (the pool is not just agreeing with a broken serial path)
    expect([...got].sort((a, b) => b.score - a.score)[0].entryId).toBe(2);
    // a second query on the same workers
    expect(await pooled(pool)).toEqual(expected);
  });

  it('correlates several signals jointly on the workers as on the calling thread (the signals travel with the query)', async () => {
    const pool = new CorrelationPool(2);
    pools.push(pool);
    const signals = [
      { image: query, signal: 'value', weight: 0.4 },
      { image: query, signal: 'gradient', weight: 0.6 },
    ] as const;
    const q = prepareSignals(signals, opts);
    const inSignals = (img: GreyImage, f: number) => [workingImage(img, f), workingImage(img, f, 'gradient')];
    const want = images.map((img, i) => correlateJoint(q, { entryId: i, images: inSignals(img, q[0].query.factor), width: SIZE, height: SIZE }));
    const s = pool.session(signals, opts);
    for (const [i, img] of images.entries()) s.add({ entryId: i, images: inSignals(img, s.factor), width: SIZE, height: SIZE });
    const got = await s.finish();
    expect(got).toEqual(want);
    expect(got).not.toEqual(expected);
    expect([...got].sort((a, b) => b.score - a.score)[0].entryId).toBe(2);
  });

  it('runs on the calling thread with one thread', async () => {
    const pool = new CorrelationPool(1);
    expect(await pooled(pool)).toEqual(expected);
    expect(pool.liveWorkers).toBe(0);
  });

  it('finishes a query on the calling thread when its workers stop halfway', async () => {
    const pool = new CorrelationPool(2);
    expect(await pooled(pool, 2)).toEqual(expected);
    expect(pool.liveWorkers).toBe(0);
  });
});
