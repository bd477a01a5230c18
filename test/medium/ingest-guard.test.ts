/**
 * Issue 19, decoding safety: the checksum comes before the pixels, so a stored file, one being ingested at this moment
 * or one already refused is answered without decoding it again; large decodes run one at a time.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import * as decode from '../../src/pipeline/decode/decode.ts';
import { LARGE_DECODE_SAMPLES } from '../../src/services/image.service.ts';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { corrupt, makeImage } from '../helpers/images.ts';

// Counts the decoder's calls (the real one runs): what this file asserts is how often a file's pixels are decoded.
vi.mock('../../src/pipeline/decode/decode.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/pipeline/decode/decode.ts')>();
  return { ...real, decodeImage: vi.fn(real.decodeImage), probeImage: vi.fn(real.probeImage) };
});
const decodes = () => vi.mocked(decode.decodeImage).mock.calls.length;
const probes = () => vi.mocked(decode.probeImage).mock.calls.length;

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());
beforeEach(() => {
  vi.mocked(decode.decodeImage).mockClear();
  vi.mocked(decode.probeImage).mockClear();
});

describe(`ingestion guard on ${TEST_BACKEND}`, () => {
  test('a stored file sent again is DUPLICATE_IMAGE without being decoded again', async () => {
    const data = await makeImage({ width: 64, height: 48, seed: 11 });
    const first = await app.services.images.ingest({ data, fileName: 'a.png', modality: 'BF' });
    expect(decodes()).toBe(1);
    await expect(app.services.images.ingest({ data, fileName: 'again.png', modality: 'BF' })).rejects.toMatchObject({ code: 'DUPLICATE_IMAGE', existingId: first.id });
    expect(decodes()).toBe(1);
    expect(probes()).toBe(1);
  });

  test('the same file sent three times at once is decoded once: one image, two DUPLICATE_IMAGE naming it', async () => {
    const data = await makeImage({ width: 64, height: 48, seed: 12 });
    const before = await app.db.prisma.image.count();
    const results = await Promise.allSettled([0, 1, 2].map((i) => app.services.images.ingest({ data, fileName: `same-${i}.png`, modality: 'BF' })));
    const stored = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(stored).toHaveLength(1);
    const id = (stored[0] as PromiseFulfilledResult<{ id: number }>).value.id;
    expect(refused.map((r) => [r.reason.code, r.reason.existingId])).toEqual([['DUPLICATE_IMAGE', id], ['DUPLICATE_IMAGE', id]]);
    expect(decodes()).toBe(1);
    expect(await app.db.prisma.image.count()).toBe(before + 1);
  });

  test('a refused file sent again gets the same typed error at once, without a second decode; another page is its own', async () => {
    const data = await corrupt.truncated();
    const first = await app.services.images.ingest({ data, fileName: 'bad.tif', modality: 'BF' }).catch((e) => e);
    expect(first.code).toBe('UNSUPPORTED_IMAGE');
    const calls = probes() + decodes();
    expect(calls).toBeGreaterThan(0);
    const second = await app.services.images.ingest({ data, fileName: 'bad-again.tif', modality: 'BF' }).catch((e) => e);
    expect(second).toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: first.message });
    expect(probes() + decodes()).toBe(calls);
    await expect(app.services.images.ingest({ data, fileName: 'bad.tif', modality: 'BF', page: 1 })).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
    expect(probes() + decodes()).toBeGreaterThan(calls);
  });

  test('large decodes run one at a time; small ones do not wait for them', async () => {
    // 4,700 x 4,700 RGB = 66.3 M samples, just over LARGE_DECODE_SAMPLES; flat, so it is a small PNG
    const side = Math.ceil(Math.sqrt(LARGE_DECODE_SAMPLES / 3)) + 2;
    expect(side * side * 3).toBeGreaterThan(LARGE_DECODE_SAMPLES);
    const big = (g: number) => sharp({ create: { width: side, height: side, channels: 3, background: { r: g, g: 0, b: 0 } } }).png().toBuffer();
    const real = vi.mocked(decode.decodeImage).getMockImplementation()!;
    const [a, b] = await Promise.all([big(10), big(20)]);
    let running = 0, most = 0;
    vi.mocked(decode.decodeImage).mockImplementation(async (data, opts) => {
      // by content: on a Postgres server the job reads the file back from the store (a new buffer; docs/adr/0027)
      const large = data.equals(a) || data.equals(b);
      if (large) most = Math.max(most, ++running);
      try {
        return await real(data, opts);
      } finally {
        if (large) running--;
      }
    });
    // the modality exists first, so that this test is only about decodes (concurrent creation of a new modality is
    // test/medium/modality-rules.test.ts's)
    await app.services.modalities.create({ name: 'BIG', channels: 3 });
    try {
      const small = await makeImage({ width: 64, height: 48, seed: 13 });
      const results = await Promise.allSettled([
        app.services.images.ingest({ data: a, fileName: 'big-a.png', modality: 'BIG' }),
        app.services.images.ingest({ data: b, fileName: 'big-b.png', modality: 'BIG' }),
        app.services.images.ingest({ data: small, fileName: 'small.png', modality: 'BF' }),
      ]);
      expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      // the two large decodes never overlapped
      expect(most).toBe(1);
      expect(decodes()).toBe(3);
    } finally {
      vi.mocked(decode.decodeImage).mockImplementation(real);
    }
  }, 120_000);
});
