/**
 * CoMIR model registration and its effect on ingestion and search, with the shipped models (models/*).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { EmbeddingService } from '../../src/services/embedding.service.ts';
import { makeImage } from '../helpers/images.ts';
import { texturedImage } from '../helpers/synthetic-images.ts';

const MODELS = path.join(import.meta.dirname, '..', '..', 'models');
let app: TestApp;
let scratch: string;

beforeAll(async () => {
  app = await createTestApp({ modelsDir: MODELS });
  scratch = await mkdtemp(path.join(os.tmpdir(), 'cmir-models-'));
});
afterAll(async () => {
  await app?.close();
  await rm(scratch, { recursive: true, force: true });
});

async function grey8(seed: number, size = 256): Promise<Buffer> {
  const img = texturedImage(size, size, seed);
  const bytes = Uint8Array.from(img.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  return sharp(bytes, { raw: { width: size, height: size, channels: 1 } }).png().toBuffer();
}

describe(`CoMIR models on ${TEST_BACKEND}`, () => {
  test('the shipped shg-bf model is registered at start and maps SHG and BF into one space', async () => {
    const models = await app.services.models.list();
    expect(models.map((m) => m.name)).toContain('shg-bf');
    const shg = await app.services.representations.modalityByName('SHG');
    const bf = await app.services.representations.modalityByName('BF');
    expect(shg).toMatchObject({ comirNetwork: 'shg', normalization: 'log1p', channels: 1 });
    expect(bf).toMatchObject({ comirNetwork: 'bf', normalization: 'linear', channels: 1 });
    expect(shg!.comirModelId).toBe(bf!.comirModelId);
  });

  test('ingesting an SHG image stores its CoMIR (16-bit PNG, same size) next to it', async () => {
    const image = await app.services.images.ingest({ data: await makeImage({ width: 96, height: 80, seed: 4, bitDepth: 16, format: 'tiff' }), fileName: 's.tif', modality: 'SHG' });
    const reps = await app.db.prisma.representation.findMany({ where: { imageId: image.id } });
    expect(reps).toHaveLength(1);
    expect(reps[0]).toMatchObject({ modelName: 'shg-bf', width: 96, height: 80 });
    const png = await readFile(path.join(app.home, 'files', reps[0].sha256.slice(0, 2), reps[0].sha256));
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 96, height: 80, channels: 1, depth: 'ushort' });
    // the stored CoMIR is what the service computes for the same pixels
    const again = await app.services.representations.ofImage(image);
    const computed = await app.services.representations.compute(
      (await app.services.representations.modalityByName('SHG'))!,
      (await (await import('../../src/pipeline/decode/decode.ts')).decodeImage(await makeImage({ width: 96, height: 80, seed: 4, bitDepth: 16, format: 'tiff' }), { maxPixels: 1e8 })).image,
    );
    expect(Array.from(again.data)).toEqual(Array.from(computed.data));
  });

  test('cross-modal search runs in the CoMIR space: SHG queries against a BF repository', async () => {
    const bfIds: number[] = [];
    for (let i = 0; i < 4; i++) {
      bfIds.push((await app.services.images.ingest({ data: await grey8(500 + i), fileName: `bf${i}.png`, modality: 'BF' })).id);
    }
    const job = await app.services.vocabularies.build('BF', { size: 500, seed: 1 });
    expect(await app.services.jobs.wait(job.id)).toMatchObject({ state: 'SUCCEEDED', error: null });
    const [vocab] = await app.services.vocabularies.list('BF');
    expect(vocab.space).toMatch(/^BF\/comir:shg-bf@/);
    const res = await app.services.search.search({ data: await grey8(500), modality: 'SHG', target: 'BF', first: 4, rerank: { mode: 'fast', topK: 4 } });
    expect(res.matches.length).toBeGreaterThan(0);
    expect(res.matches.every((m) => bfIds.includes(m.imageId))).toBe(true);
    expect(res.timings.representation).toBeGreaterThan(0);
    // the default (auto) re-ranking across the pair is dense correlation (generated textures are not an SHG/BF pair,
    // so which one ranks first means nothing here; test/unit/pipeline/correlate.test.ts checks the ranking)
    const auto = await app.services.search.search({ data: await grey8(502), modality: 'SHG', target: 'BF', first: 4 });
    expect(auto.rerank).toBe('correlate');
    expect(auto.matches.map((m) => m.rank)).toEqual([1, 2, 3, 4]);
    expect(auto.matches[0].transform).toHaveLength(6);
    // raw modalities cannot be searched against CoMIR ones
    await app.services.images.ingest({ data: await grey8(900), fileName: 'x.png', modality: 'RAWMOD' });
    await expect(app.services.search.search({ data: await grey8(900), modality: 'RAWMOD', target: 'BF' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  test('a model whose files do not match its manifest is refused with MODEL_INVALID and changes nothing', async () => {
    const dir = path.join(scratch, 'tampered');
    await cp(path.join(MODELS, 'shg-bf'), dir, { recursive: true });
    const onnx = path.join(dir, 'shg.onnx');
    const bytes = await readFile(onnx);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(onnx, bytes);
    const before = await app.services.models.list();
    await expect(app.services.models.register(dir)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect(await app.services.models.list()).toEqual(before);
    await expect(app.services.models.register(path.join(MODELS, 'shg-bf'), { nope: 'X' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    // the window descriptor's file is checked too (docs/adr/0015)
    const window = path.join(scratch, 'tampered-window');
    await cp(path.join(MODELS, 'shg-bf'), window, { recursive: true });
    const wbytes = await readFile(path.join(window, 'window.onnx'));
    wbytes[wbytes.length - 1] ^= 0xff;
    await writeFile(path.join(window, 'window.onnx'), wbytes);
    await expect(app.services.models.register(window)).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringContaining('window.onnx') });
    expect(await app.services.models.list()).toEqual(before);
  });

  test('one network may serve several modalities (a list in the mapping), each with its channels and normalisation', async () => {
    const { modalities } = await app.services.models.register(path.join(MODELS, 'shg-bf'), { shg: ['SHG_A', 'SHG_B'], bf: 'BF_A' });
    expect(modalities.map((m) => [m.name, m.comirNetwork, m.normalization]).sort()).toEqual([
      ['BF_A', 'bf', 'linear'],
      ['SHG_A', 'shg', 'log1p'],
      ['SHG_B', 'shg', 'log1p'],
    ]);
    await expect(app.services.models.register(path.join(MODELS, 'shg-bf'), { shg: [] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    // without a mapping, a network's manifest `serves` list names its modalities
    const dir = path.join(scratch, 'serves');
    await cp(path.join(MODELS, 'shg-bf'), dir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    manifest.modalities[0].serves = ['SHG_C', 'SHG_D'];
    manifest.modalities[1].serves = ['BF_C']; // not BF: the other tests' BF stays in the shipped model's space
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    const served = await app.services.models.register(dir);
    expect(served.modalities.map((m) => m.name).sort()).toEqual(['BF_C', 'SHG_C', 'SHG_D']);
    manifest.modalities[0].serves = [];
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    await expect(app.services.models.register(dir)).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringContaining('serves') });
  });

  test('a new model version may change a network\'s normalisation for a modality that has images (a new space)', async () => {
    const dir = path.join(scratch, 'percentile');
    await cp(path.join(MODELS, 'shg-bf'), dir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    manifest.modalities[1].input.normalization = 'percentile';
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    const before = (await app.services.representations.modalityByName('BF'))!;
    expect(await app.db.prisma.image.count({ where: { modalityId: before.id } })).toBeGreaterThan(0);
    await app.services.models.register(dir);
    const after = (await app.services.representations.modalityByName('BF'))!;
    expect(after).toMatchObject({ normalization: 'percentile', comirNetwork: 'bf' });
    expect(after.comirModel!.version).not.toBe(before.comirModel!.version);
    // the old vocabulary and vectors belong to the old space: the paper's pipeline waits for a build in the new one,
    // the vector first stage for a reindex (until then correlation sees the images unranked)
    await expect(app.services.search.search({ data: await grey8(500), modality: 'SHG', target: 'BF', rerank: { mode: 'paper' } })).rejects.toMatchObject({ code: 'INDEX_NOT_READY' });
    const n = await app.db.prisma.image.count({ where: { modalityId: after.id } });
    expect(await app.services.embeddings.indexed(after)).toBe(0);
    const reindex = await app.services.embeddings.reindex('BF');
    expect(await app.services.jobs.wait(reindex.id)).toMatchObject({ state: 'SUCCEEDED', done: n, total: n });
    expect(await app.services.embeddings.indexed(after)).toBe(n);
    // the shipped pair's learned window descriptor names the vectors' space; the reindex stored every image's CoMIR of
    // the new version, so searches read it instead of computing it
    expect(EmbeddingService.space(after)).toMatch(/\|learned-[0-9a-f]{12}-s96x1\.25-st0\.5$/);
    expect(await app.db.prisma.representation.count({ where: { modelVersion: after.comirModel!.version } })).toBe(n);
    const job = await app.services.vocabularies.build('BF', { size: 500, seed: 1 });
    expect(await app.services.jobs.wait(job.id)).toMatchObject({ state: 'SUCCEEDED' });
    const res = await app.services.search.search({ data: await grey8(501), modality: 'SHG', target: 'BF', first: 2 });
    expect(res.matches).toHaveLength(2);
    expect(res.firstStage).toBe('vectors');
  });
});
