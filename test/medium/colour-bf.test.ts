/**
 * A BF network that takes the eosin channel of colour H&E (manifest input.normalization 'eosin', training/README.md
 * "Colour brightfield"): ingestion converts a colour scan to its eosin channel, and refuses a grey BF with
 * UNSUPPORTED_IMAGE, leaving nothing written. The model is the shipped shg-bf with its BF input declared 'eosin' (its
 * 1-channel network runs unchanged; only the declared rule differs), so no training is needed here.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { pattern } from '../helpers/images.ts';
import { decodeImage } from '../../src/pipeline/decode/decode.ts';
import { loadComirModel } from '../../src/pipeline/comir/comir.ts';

const SHIPPED = path.join(import.meta.dirname, '..', '..', 'models', 'shg-bf');
const SIZE = 96;
let app: TestApp;
let modelsDir = '';

beforeAll(async () => {
  modelsDir = await mkdtemp(path.join(os.tmpdir(), 'cmir-colour-bf-'));
  const dir = path.join(modelsDir, 'shg-bf-eosin');
  await cp(SHIPPED, dir, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  manifest.pair = 'shg-bf-eosin';
  manifest.modalities[1].input = { ...manifest.modalities[1].input, normalization: 'eosin', colour: 'required', column: 'bf_rgb' };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  app = await createTestApp({ modelsDir });
});
afterAll(async () => {
  await app?.close();
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
});

/** An H&E-like colour PNG (pink to purple) and its grey version. */
async function colourAndGrey(seed: number): Promise<{ rgb: Buffer; grey: Buffer }> {
  const p = pattern(SIZE, SIZE, 1, seed);
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let i = 0; i < p.length; i++) rgb.set([Math.round(240 - 60 * p[i]), Math.round(220 - 170 * p[i]), Math.round(235 - 50 * p[i])], 3 * i);
  const grey = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => Math.round(0.2989 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]));
  return {
    rgb: await sharp(rgb, { raw: { width: SIZE, height: SIZE, channels: 3 } }).toColourspace('srgb').png().toBuffer(),
    grey: await sharp(grey, { raw: { width: SIZE, height: SIZE, channels: 1 } }).toColourspace('b-w').png().toBuffer(),
  };
}

describe(`colour BF (eosin) model on ${TEST_BACKEND}`, () => {
  test('the BF modality takes the eosin rule from the model; a colour scan is ingested, a grey one refused with nothing written', async () => {
    const bf = await app.services.modalities.getByName('BF');
    expect(bf).toMatchObject({ normalization: 'eosin', channels: 1 });
    const { rgb, grey } = await colourAndGrey(70);

    const before = await app.db.prisma.image.count();
    await expect(app.services.images.ingest({ data: grey, fileName: 'grey.png', modality: 'BF' })).rejects.toMatchObject({
      code: 'UNSUPPORTED_IMAGE',
      message: expect.stringMatching(/colour \(RGB\)/),
    });
    expect(await app.db.prisma.image.count()).toBe(before);
    expect(await app.db.prisma.representation.count()).toBe(0);

    const img = await app.services.images.ingest({ data: rgb, fileName: 'colour.png', modality: 'BF' });
    expect(img.channels).toBe(3);
    const rep = await app.services.representations.ofImage(img);
    expect([rep.width, rep.height]).toEqual([SIZE, SIZE]);
    // what was stored is the eosin model's CoMIR of the colour pixels, which differs from the grey model's of the grey ones
    const eosinModel = await loadComirModel(path.join(modelsDir, 'shg-bf-eosin'));
    const greyModel = await loadComirModel(SHIPPED);
    try {
      const fromColour = await eosinModel.representation('bf', (await decodeImage(rgb, { maxPixels: 1e6 })).image);
      const fromGrey = await greyModel.representation('bf', (await decodeImage(grey, { maxPixels: 1e6 })).image);
      let same = 0;
      let other = 0;
      for (let i = 0; i < rep.data.length; i++) {
        same = Math.max(same, Math.abs(rep.data[i] - fromColour.data[i]));
        other = Math.max(other, Math.abs(rep.data[i] - fromGrey.data[i]));
      }
      expect(same).toBeLessThan(1e-4);
      expect(other).toBeGreaterThan(1e-3);
    } finally {
      await eosinModel.release();
      await greyModel.release();
    }
  });
});
