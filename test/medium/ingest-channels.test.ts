/**
 * An image whose channel count differs from its modality's is accepted on purpose: it is converted for the
 * modality's CoMIR network the way the network's training data was (training/comir/data.py read_image): RGB to grey
 * for a 1-channel network (the registered grey H&E of shg-bf, the first channel of vis-nir's 3-channel NIR JPEGs),
 * grey replicated for a 3-channel one. These tests pin that: a grey image and the same image stored as RGB get the
 * same CoMIR in either direction, and neither the modality's channels nor the image's recorded ones change.
 */
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { pattern } from '../helpers/images.ts';

const MODELS = path.join(import.meta.dirname, '..', '..', 'models');
const SIZE = 96;
let app: TestApp;

beforeAll(async () => {
  app = await createTestApp({ modelsDir: MODELS });
});
afterAll(() => app?.close());

/** The same 8-bit grey pattern as a 1-channel PNG and as an RGB PNG with three equal channels. */
async function greyAndRgb(seed: number): Promise<{ grey: Buffer; rgb: Buffer }> {
  const grey = Uint8Array.from(pattern(SIZE, SIZE, 1, seed), (v) => Math.round(v * 255));
  const rgb = new Uint8Array(grey.length * 3);
  for (let i = 0; i < grey.length; i++) rgb.fill(grey[i], 3 * i, 3 * i + 3);
  return {
    grey: await sharp(grey, { raw: { width: SIZE, height: SIZE, channels: 1 } }).toColourspace('b-w').png().toBuffer(),
    rgb: await sharp(rgb, { raw: { width: SIZE, height: SIZE, channels: 3 } }).toColourspace('srgb').png().toBuffer(),
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe(`channels of an image against its modality's on ${TEST_BACKEND}`, () => {
  test.each([
    ['SHG', 1, 60], // shg-bf: 1-channel network; an RGB file is turned grey (rgb2gray)
    ['RGB', 3, 61], // vis-nir: 3-channel network; a grey file is replicated to RGB
  ])('%s (a %i-channel network) takes grey and RGB files alike, with the same CoMIR', async (modality, channels, seed) => {
    const { grey, rgb } = await greyAndRgb(seed);
    const fromGrey = await app.services.images.ingest({ data: grey, fileName: 'grey.png', modality });
    const fromRgb = await app.services.images.ingest({ data: rgb, fileName: 'rgb.png', modality });
    expect([fromGrey.channels, fromRgb.channels]).toEqual([1, 3]); // each image keeps what its file holds
    expect(await app.services.modalities.getByName(modality)).toMatchObject({ channels }); // the network's, unchanged
    expect(await app.db.prisma.representation.count({ where: { imageId: { in: [fromGrey.id, fromRgb.id] } } })).toBe(2);

    const a = await app.services.representations.ofImage(fromGrey);
    const b = await app.services.representations.ofImage(fromRgb);
    // rgb2gray of three equal channels is the grey value (weights sum to 0.9999), so the CoMIRs agree ...
    expect(maxAbsDiff(a.data, b.data)).toBeLessThan(2e-3);
    // ... far more closely than another image's do
    const other = await app.services.images.ingest({ data: (await greyAndRgb(seed + 10)).grey, fileName: 'other.png', modality });
    expect(maxAbsDiff(a.data, (await app.services.representations.ofImage(other)).data)).toBeGreaterThan(2e-2);
  });
});
