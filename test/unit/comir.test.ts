/**
 * CoMIR inference (src/pipeline/comir/comir.ts): manifest validation, tiled == whole, and for every shipped model
 * (models/<pair>/manifest.json) rotation equivariance on a real image and aligned > mismatched agreement on tissue.
 */
import { mkdtemp, readdir, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComirModel, loadComirModel, ModelInvalidError, toUint8, validateManifest } from '../../src/pipeline/comir/comir.ts';
import type { PlanarImage } from '../../src/pipeline/types.ts';
import { correlation, dataDir, readPlanar, REPO_ROOT, rot90Grey, rot90Planar, tissueMask } from '../helpers/comir.ts';
import { texturedImage } from '../helpers/synthetic-images.ts';

const MODELS_DIR = path.join(REPO_ROOT, 'models');
const shipped = existsSync(MODELS_DIR)
  ? (await readdir(MODELS_DIR)).filter((d) => existsSync(path.join(MODELS_DIR, d, 'manifest.json'))).sort()
  : [];
const DATA = dataDir();

/** Real test images per pair, none of them used in training: shg-bf test cores; vis-nir held-out validation scenes. */
async function realPair(pair: string, model: ComirModel, which: number): Promise<{ a: PlanarImage; b: PlanarImage; tissue?: Uint8Array } | null> {
  if (!DATA) return null;
  const [ma, mb] = model.manifest.modalities;
  if (pair === 'shg-bf') {
    const ids = ['1B_A1', '2B_D2', '1B_G2'];
    const id = ids[which % ids.length];
    const dir = path.join(DATA, 'shg-bf');
    if (!existsSync(path.join(dir, 'shg', `${id}.tif`))) return null;
    const a = await readPlanar(path.join(dir, 'shg', `${id}.tif`), ma.input.channels);
    const b = await readPlanar(path.join(dir, 'bf', `${id}.tif`), mb.input.channels);
    return { a: await readPlanar(path.join(dir, 'shg', `${id}.tif`), ma.input.channels, ma.input.normalization), b, tissue: tissueMask(a, b) };
  }
  if (pair === 'vis-nir') {
    const ids = (model.manifest.validation?.ids as string[] | undefined) ?? [];
    const id = ids[which % Math.max(1, ids.length)];
    const m = /^country-(\d+)$/.exec(id ?? '');
    if (!m) return null;
    const dir = path.join(DATA, 'vis-nir', 'country');
    // centre 512 px crops keep the suite fast (whole scenes are ~1024x680)
    const a = centreCrop(await readPlanar(path.join(dir, `${m[1]}_rgb.jpg`), ma.input.channels, ma.input.normalization), 512);
    const b = centreCrop(await readPlanar(path.join(dir, `${m[1]}_nir.jpg`), mb.input.channels, mb.input.normalization), 512);
    return { a, b };
  }
  return null;
}

function centreCrop(img: PlanarImage, size: number): PlanarImage {
  const w = Math.min(size, img.width), h = Math.min(size, img.height);
  const x0 = (img.width - w) >> 1, y0 = (img.height - h) >> 1, c = img.channels;
  const data = new Float32Array(w * h * c);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * c, ((y0 + y) * img.width + x0 + w) * c), y * w * c);
  return { width: w, height: h, channels: c, data };
}

describe('manifest validation', () => {
  it('accepts search defaults in range (the shipped vis-nir pair declares a 10 % scale tolerance) and rejects others', async () => {
    const visNir = JSON.parse(await readFile(path.join(import.meta.dirname, '..', '..', 'models', 'vis-nir', 'manifest.json'), 'utf8'));
    expect(validateManifest(visNir).search?.scale_tolerance).toBe(0.1);
    expect(() => validateManifest({ ...visNir, search: { scale_tolerance: 2 } })).toThrow(/search.scale_tolerance must be a number in 0..0.5/);
    expect(() => validateManifest({ ...visNir, search: { max_rotation: -1 } })).toThrow(ModelInvalidError);
    expect(validateManifest({ ...visNir, search: { refine: 20 } }).search?.refine).toBe(20);
    expect(() => validateManifest({ ...visNir, search: { refine: 2.5 } })).toThrow(/search.refine an integer in 0..200/);
    expect(validateManifest({ ...visNir, search: { confidence: { midpoint: 0.03, scale: 0.01, threshold: 0.9 } } }).search?.confidence?.threshold).toBe(0.9);
    expect(() => validateManifest({ ...visNir, search: { confidence: { midpoint: 0.03, scale: 0, threshold: 0.9 } } })).toThrow(/search.confidence/);
    expect(() => validateManifest({ ...visNir, search: { confidence: { midpoint: 0.03, scale: 0.01, threshold: 2 } } })).toThrow(ModelInvalidError);
  });

  it('accepts a colour BF input (eosin of RGB, 1 channel; input.colour, input.column) and rejects inconsistent ones', async () => {
    const shgBf = JSON.parse(await readFile(path.join(import.meta.dirname, '..', '..', 'models', 'shg-bf', 'manifest.json'), 'utf8'));
    const withBf = (input: Record<string, unknown>) => ({ ...shgBf, modalities: [shgBf.modalities[0], { ...shgBf.modalities[1], input: { ...shgBf.modalities[1].input, ...input } }] });
    expect(validateManifest(withBf({ normalization: 'eosin', colour: 'required', column: 'bf_rgb' })).modalities[1].input).toMatchObject({ normalization: 'eosin', channels: 1, column: 'bf_rgb' });
    expect(() => validateManifest(withBf({ normalization: 'eosin', channels: 3 }))).toThrow(/eosin gives 1 channel/);
    expect(() => validateManifest(withBf({ colour: 'yes' }))).toThrow(/input.colour must be "required"/);
    expect(() => validateManifest(withBf({ column: '' }))).toThrow(/input.column/);
  });

  it('accepts the shipped window descriptor block and rejects a malformed one (docs/adr/0015)', async () => {
    const visNir = JSON.parse(await readFile(path.join(import.meta.dirname, '..', '..', 'models', 'vis-nir', 'manifest.json'), 'utf8'));
    const wd = visNir.window_descriptor;
    expect(validateManifest(visNir).window_descriptor).toMatchObject({ format: 'cmir-window/1', file: 'window.onnx', input: { grid: 32 }, output: { dimensions: 64 } });
    for (const bad of [
      { ...wd, format: 'cmir-window/2' },
      { ...wd, file: '../../etc/passwd' },
      { ...wd, file: '/abs/window.onnx' },
      { ...wd, sha256: 'abc' },
      { ...wd, version: 'has space' },
      { ...wd, input: { ...wd.input, grid: 0 } },
      { ...wd, input: { ...wd.input, grid: 1000 } },
      { ...wd, output: { name: 'vector' } },
    ]) {
      expect(() => validateManifest({ ...visNir, window_descriptor: bad }), JSON.stringify(bad).slice(0, 80)).toThrow(ModelInvalidError);
    }
  });

  it('rejects a malformed manifest with MODEL_INVALID', () => {
    expect(() => validateManifest({ format: 'nope' })).toThrow(ModelInvalidError);
    try {
      validateManifest({ format: 'cmir-comir/1', network: { stride: 8, margin: 60 } });
    } catch (e) {
      expect((e as ModelInvalidError).code).toBe('MODEL_INVALID');
    }
  });
});

describe.skipIf(shipped.length === 0)('shipped models', () => {
  const tmp: string[] = [];
  afterAll(async () => {
    for (const d of tmp) await rm(d, { recursive: true, force: true });
  });

  for (const pair of shipped) {
    describe(pair, () => {
      let model: ComirModel;

      it('loads with matching sha256 and both sessions start', async () => {
        model = await loadComirModel(path.join(MODELS_DIR, pair));
        expect(model.modalities).toHaveLength(2);
        for (const m of model.modalities) await model.session(m);
        expect(typeof model.manifest.validation?.acc1).toBe('number');
      });

      it('detects a corrupted file (sha256) and a channel mismatch', async () => {
        const d = await mkdtemp(path.join(os.tmpdir(), 'cmir-comir-'));
        tmp.push(d);
        await cp(path.join(MODELS_DIR, pair), d, { recursive: true });
        const first = model.manifest.modalities[0];
        const buf = await readFile(path.join(d, first.file));
        buf[buf.length - 1] ^= 0xff;
        await writeFile(path.join(d, first.file), buf);
        await expect(loadComirModel(d)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
        expect(() => model.checkModality(first.name, { channels: first.input.channels === 1 ? 3 : 1 })).toThrow(ModelInvalidError);
        const bad: PlanarImage = { width: 16, height: 16, channels: first.input.channels + 1, data: new Float32Array(16 * 16 * (first.input.channels + 1)) };
        await expect(model.run(first.name, bad)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
      });

      it('tiled inference equals whole-image inference', async () => {
        const m = model.manifest.modalities[0];
        const g = texturedImage(203, 171, 7);
        const img: PlanarImage = { width: 203, height: 171, channels: m.input.channels, data: new Float32Array(203 * 171 * m.input.channels) };
        for (let i = 0; i < 203 * 171; i++) for (let c = 0; c < m.input.channels; c++) img.data[i * m.input.channels + c] = g.data[i] * (0.6 + 0.2 * c);
        const whole = await model.run(m.name, img, { tiled: false });
        const tiler = new ComirModel(model.dir, model.manifest, { tileSize: 64 });
        const tiled = await tiler.run(m.name, img, { tiled: true });
        let maxDiff = 0;
        for (let i = 0; i < whole.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole.data[i] - tiled.data[i]));
        expect(maxDiff).toBeLessThan(1e-4);
        const u8 = toUint8(whole);
        expect(u8.length).toBe(203 * 171);
        await tiler.release();
      });

      // Real images only (issue 4): the networks were never trained on generated textures, where they are less
      // equivariant (measured r 0.77-0.86), and such a figure says nothing about the shipped product.
      // Floor 0.75: measured on 2026-11-27, shg 0.881 and bf 0.790 for the GPU-trained shg-bf, rgb 0.941 and nir 0.944
      // for the GPU-trained vis-nir (docs/adr/0010; the 450-step vis-nir before it: 0.953, 0.925). The 350-step shg-bf
      // before it gave 0.996 / 0.992, mostly from its flat dark tissue on the 0.5 background, which any network
      // reproduces under rotation; the new one has structure inside the tissue.
      it.skipIf(!DATA)('is rotation-equivariant on a real image (rot90 of input vs rot90 of output, r >= 0.75)', async () => {
        const real = await realPair(pair, model, 0);
        expect(real, `real pair for ${pair} under ${DATA}`).not.toBeNull();
        for (const [i, m] of model.manifest.modalities.entries()) {
          const img: PlanarImage = i === 0 ? real!.a : real!.b;
          const out = await model.run(m.name, img);
          const outRot = await model.run(m.name, rot90Planar(img));
          const r = correlation(rot90Grey(out).data, outRot.data);
          console.info(`[comir.test] ${pair}/${m.name}: rot90 equivariance r = ${r.toFixed(3)}`);
          expect(r).toBeGreaterThanOrEqual(0.75);
        }
      });

      it.skipIf(!DATA)('an aligned real pair agrees better than a mismatched pair (on tissue)', async () => {
        const p0 = await realPair(pair, model, 0);
        const p1 = await realPair(pair, model, 1);
        if (!p0 || !p1) {
          console.warn(`[comir.test] ${pair}: real pairs not found under ${DATA}; skipped`);
          return;
        }
        const [ma, mb] = model.modalities;
        const a0 = await model.run(ma, p0.a);
        const b0 = await model.run(mb, p0.b);
        const b1 = await model.run(mb, p1.b);
        const w = Math.min(a0.width, b1.width), h = Math.min(a0.height, b1.height);
        const cut = (d: Float32Array, W: number) => Float32Array.from({ length: w * h }, (_, i) => d[Math.floor(i / w) * W + (i % w)]);
        const m0 = p0.tissue, m1 = p1.tissue;
        const both = m0 && m1 ? Uint8Array.from({ length: w * h }, (_, i) => m0[Math.floor(i / w) * a0.width + (i % w)] & m1[Math.floor(i / w) * b1.width + (i % w)]) : undefined;
        const aligned = correlation(a0.data, b0.data, m0);
        const mismatched = correlation(cut(a0.data, a0.width), cut(b1.data, b1.width), both);
        console.info(`[comir.test] ${pair}: aligned r = ${aligned.toFixed(3)}, mismatched r = ${mismatched.toFixed(3)}`);
        expect(aligned).toBeGreaterThan(mismatched + 0.1);
      });

      it('releases its sessions', async () => {
        await model.release();
      });
    });
  }
});
