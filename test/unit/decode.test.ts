import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { decodeImage, normalize, percentiles, probeImage, toGrey } from '../../src/pipeline/decode/decode.ts';
import { corrupt, makeImage, makeMultiPageTiff, pattern } from '../helpers/images.ts';

const LIMIT = { maxPixels: 10_000_000 };

describe('decodeImage', () => {
  test.each([
    { format: 'png', bitDepth: 8, channels: 1 },
    { format: 'png', bitDepth: 16, channels: 1 },
    { format: 'png', bitDepth: 8, channels: 3 },
    { format: 'tiff', bitDepth: 8, channels: 1 },
    { format: 'tiff', bitDepth: 16, channels: 1 },
    { format: 'tiff', bitDepth: 16, channels: 3 },
    { format: 'tiff', bitDepth: 8, channels: 3 },
  ] as const)('$format $bitDepth-bit $channels-channel round-trips to [0,1] floats', async (o) => {
    const file = await makeImage({ width: 40, height: 30, ...o, seed: 3 });
    const { info, image } = await decodeImage(file, LIMIT);
    expect(info).toMatchObject({ format: o.format, width: 40, height: 30, channels: o.channels, bitDepth: o.bitDepth });
    expect(image.channels).toBe(o.channels);
    expect(image.data.length).toBe(40 * 30 * o.channels);
    const expected = pattern(40, 30, o.channels, 3);
    // Quantisation error: half a step of the file's depth.
    const tol = (o.bitDepth === 16 ? 0.5 / 65535 : 0.5 / 255) + 1e-6;
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - image.data[i]));
    expect(worst).toBeLessThanOrEqual(tol);
  });

  test('JPEG decodes (lossy, so only approximately)', async () => {
    const { info, image } = await decodeImage(await makeImage({ format: 'jpeg', channels: 3 }), LIMIT);
    expect(info.format).toBe('jpeg');
    const expected = pattern(64, 48, 3, 0);
    let sum = 0;
    for (let i = 0; i < expected.length; i++) sum += Math.abs(expected[i] - image.data[i]);
    expect(sum / expected.length).toBeLessThan(0.02);
  });

  test('multi-page TIFF: first page by default, another when asked', async () => {
    const file = await makeMultiPageTiff(32, 24);
    const p0 = await decodeImage(file, LIMIT);
    const p1 = await decodeImage(file, { ...LIMIT, page: 1 });
    expect(p0.info.pages).toBe(2);
    expect(p0.image.width).toBe(32);
    expect(p0.image.height).toBe(24);
    expect(p1.image.data).not.toEqual(p0.image.data);
    await expect(decodeImage(file, { ...LIMIT, page: 2 })).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
  });

  test.each([
    ['empty', corrupt.empty],
    ['garbage with a TIFF magic', corrupt.garbage],
    ['text', corrupt.text],
    ['truncated PNG', corrupt.truncated],
  ])('%s file is UNSUPPORTED_IMAGE', async (_, make) => {
    await expect(decodeImage(await make(), LIMIT)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
  });

  test('an image over the pixel limit is PAYLOAD_TOO_LARGE, from the header alone', async () => {
    const file = await makeImage({ width: 100, height: 100 });
    await expect(probeImage(file, { maxPixels: 9_999 })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect(probeImage(file, { maxPixels: 10_000 })).resolves.toMatchObject({ width: 100 });
  });
});

describe('normalisation rules', () => {
  test('log1p maps [0,1] to [0, ln 2] monotonically; linear is the identity', () => {
    const img = { width: 3, height: 1, channels: 1, data: new Float32Array([0, 0.5, 1]) };
    expect(normalize(img, 'linear').data).toBe(img.data);
    const out = normalize(img, 'log1p').data;
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(Math.log(1.5), 6);
    expect(out[2]).toBeCloseTo(Math.LN2, 6);
  });

  test('percentile stretches the image\'s 1st..99th percentiles (numpy "lower") to 0..1, clamped', () => {
    // 8-bit values 40..140 in a shuffled order, as a TMA core's grey H&E spans (training/README.md)
    const values = Array.from({ length: 101 }, (_, i) => (40 + ((i * 37) % 101)) / 255);
    const img = { width: 101, height: 1, channels: 1, data: Float32Array.from(values) };
    // n = 101: the elements at sorted index floor(0.01 * 100) = 1 and floor(0.99 * 100) = 99, i.e. 41 and 139
    const [lo, hi] = percentiles(img.data, [0.01, 0.99]);
    expect(lo * 255).toBeCloseTo(41, 4);
    expect(hi * 255).toBeCloseTo(139, 4);
    const out = normalize(img, 'percentile').data;
    const at = (v: number) => out[values.indexOf(v / 255)];
    expect(at(41)).toBeCloseTo(0, 5);
    expect(at(139)).toBeCloseTo(1, 5);
    expect(at(90)).toBeCloseTo(49 / 98, 4);
    expect(at(40)).toBe(0); // below the 1st percentile: clamped
    expect(at(140)).toBe(1);
    // a flat image stays finite (the span is at least 1/255)
    const flat = normalize({ width: 2, height: 1, channels: 1, data: new Float32Array([0.5, 0.5]) }, 'percentile').data;
    expect([...flat]).toEqual([0, 0]);
  });

  test('toGrey uses rgb2gray weights', () => {
    const g = toGrey({ width: 2, height: 1, channels: 3, data: new Float32Array([1, 0, 0, 0, 0, 1]) });
    expect(g.data[0]).toBeCloseTo(0.2989, 4);
    expect(g.data[1]).toBeCloseTo(0.114, 4);
  });
});

describe('decodeImage time budget (issue 19)', () => {
  test('a decode that outlasts timeoutSeconds is stopped: PAYLOAD_TOO_LARGE naming the budget; a small file within the same budget decodes', async () => {
    // 15,000 x 15,000 RGB, flat: a 657 KB PNG that libvips took 6.2 s to decode on the 2 shared cores (src/config.ts)
    const bomb = await sharp({ create: { width: 15_000, height: 15_000, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
    expect(bomb.length).toBeLessThan(2_000_000);
    const t0 = performance.now();
    await expect(decodeImage(bomb, { maxPixels: 16_384 * 16_384, timeoutSeconds: 1 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { decodeSeconds: 1, width: 15_000, height: 15_000 },
    });
    // stopped near its budget, not after the whole decode
    expect(performance.now() - t0).toBeLessThan(5_000);
    // a small file within the same budget decodes
    const small = await makeImage({ width: 40, height: 30, seed: 4 });
    expect((await decodeImage(small, { ...LIMIT, timeoutSeconds: 1 })).image.width).toBe(40);
  }, 60_000);
});
