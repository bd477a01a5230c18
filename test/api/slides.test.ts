/**
 * Whole-slide images through GraphQL (issue 18): ingestImage(path) of a pyramidal TIFF inside CMIR_INGEST_ROOTS, the
 * image's wholeSlide and tileSource, and a search that declares its pixel size, answered in slide pixels and
 * micrometres.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createTestApi, type TestApi } from '../helpers/graphql.ts';
import { REPO_ROOT } from '../helpers/comir.ts';
import { makeSlide } from '../helpers/slides.ts';

const W = 4096, H = 3072, MPP = 0.5;
let app: TestApp;
/** Mutations need a key (docs/adr/0014): these tests run as a fresh admin key. */
let api: TestApi;
let dir: string;
let raw: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-api-slides-'));
  // the shipped shg-bf pair: its working resolution (2 um/px) is what slides are tiled and queries resampled at
  app = await createTestApp({ ingestRoots: [dir], modelsDir: path.join(REPO_ROOT, 'models') });
  api = await createTestApi(app);
  raw = await makeSlide(path.join(dir, 'slide.tif'), W, H, 77, [{ cx: 1500, cy: 1400, r: 1000 }, { cx: 3300, cy: 2100, r: 600 }], { micronsPerPixel: MPP });
}, 120_000);
afterAll(async () => {
  await api?.stop();
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

const run: TestApi['run'] = (query, variables) => api.run(query, variables);

describe('whole-slide images over GraphQL', () => {
  let id: string;

  test('ingestImage(path) of a pyramid: a whole-slide image whose tiling job fills in its tiles', { timeout: 300_000 }, async () => {
    const res = await run(`mutation($path: String!) { ingestImage(input: { path: $path, modality: "BF" }) {
      id name width height micronsPerPixel tileSource wholeSlide { levels { width height downsample } compression pixelSizeSource tilingState } } }`, {
      path: path.join(dir, 'slide.tif'),
    });
    expect(res.errors).toBeUndefined();
    const image = res.data!.ingestImage;
    id = image.id;
    expect(image).toMatchObject({ name: 'slide', width: W, height: H, micronsPerPixel: MPP, wholeSlide: { compression: 'jpeg', pixelSizeSource: 'TIFF_RESOLUTION', tilingState: 'PENDING' } });
    expect(image.wholeSlide.levels[0]).toEqual({ width: W, height: H, downsample: 1 });
    expect(image.wholeSlide.levels.length).toBeGreaterThan(2);
    expect(image.tileSource).toMatch(/^http:\/\/test\/iiif\/3\/\d+\/info\.json$/);
    await app.services.jobs.drain();
    const after = await run(`query($id: ID!) { image(id: $id) { wholeSlide { tilingState tilingError tiles } } }`, { id });
    expect(after.data!.image.wholeSlide).toMatchObject({ tilingState: 'DONE', tilingError: null });
    expect(after.data!.image.wholeSlide.tiles).toBeGreaterThan(0);
  });

  test('a query whose declared pixel size would blow it up past the pixel limit is PAYLOAD_TOO_LARGE, one too small BAD_USER_INPUT', async () => {
    const data = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer();
    // 1000 um/px at the working 2 um/px: 32,000 x 32,000 working pixels
    await expect(app.services.search.search({ data, modality: 'BF', target: 'BF', micronsPerPixel: 1000 })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    // 0.01 um/px: under 1 working pixel
    await expect(app.services.search.search({ data, modality: 'BF', target: 'BF', micronsPerPixel: 0.01 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  test('a plain image has no wholeSlide; a pixel size far from the slide\'s is BAD_USER_INPUT', async () => {
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#a0a0a0' } }).png().toFile(path.join(dir, 'plain.png'));
    expect(png.width).toBe(64);
    const plain = await run(`mutation($path: String!) { ingestImage(input: { path: $path, modality: "BF", micronsPerPixel: 2 }) { micronsPerPixel wholeSlide { tilingState } } }`, {
      path: path.join(dir, 'plain.png'),
    });
    expect(plain.errors).toBeUndefined();
    expect(plain.data!.ingestImage).toEqual({ micronsPerPixel: 2, wholeSlide: null });
    await makeSlide(path.join(dir, 'other.tif'), 2048, 1536, 78, [{ cx: 900, cy: 800, r: 500 }], { micronsPerPixel: MPP });
    const far = await run(`mutation($path: String!) { ingestImage(input: { path: $path, modality: "BF", micronsPerPixel: 1 }) { id } }`, { path: path.join(dir, 'other.tif') });
    expect(far.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(far.errors?.[0].message).toMatch(/0\.5/);
  });

  test('search by a stored field (its pixel size is the query\'s): the footprint on the slide in pixels and micrometres', { timeout: 300_000 }, async () => {
    // a 2 um/px field: 2048 x 2048 slide pixels around (1500, 1400), reduced 4 times
    const field = await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
      .extract({ left: 476, top: 376, width: 2048, height: 2048 })
      .resize(512, 512, { kernel: 'lanczos3' })
      .png()
      .toBuffer();
    const stored = await app.services.images.ingest({ data: field, fileName: 'field.png', modality: 'BF', micronsPerPixel: 2 });
    const res = await run(`query($q: ID!) { search(input: { imageId: $q, target: "BF", first: 2, rerank: { mode: CORRELATE } }) {
      matches { image { id } footprint { x y } footprintMicrons { x y } transform } } }`, { q: toGlobalId('Image', stored.id) });
    expect(res.errors).toBeUndefined();
    const top = res.data!.search.matches[0];
    expect(top.image.id).toBe(id);
    const cx = top.footprint.reduce((a: number, p: any) => a + p.x, 0) / 4, cy = top.footprint.reduce((a: number, p: any) => a + p.y, 0) / 4;
    expect(Math.hypot(cx - 1500, cy - 1400)).toBeLessThan(0.02 * W);
    top.footprint.forEach((p: any, i: number) => {
      expect(top.footprintMicrons[i].x).toBeCloseTo(p.x * MPP, 6);
      expect(top.footprintMicrons[i].y).toBeCloseTo(p.y * MPP, 6);
    });
    // query pixels -> slide pixels: 4 slide pixels a query pixel
    expect(Math.hypot(top.transform[0], top.transform[3])).toBeGreaterThan(3.6);
    expect(Math.hypot(top.transform[0], top.transform[3])).toBeLessThan(4.4);
  });
});
