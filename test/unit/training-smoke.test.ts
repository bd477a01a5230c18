/**
 * The Python trainer end to end, through the CLI command's runner (src/cli/commands/train.ts): a few steps on tiny
 * generated pairs, ONNX export and manifest, then the exported networks through src/pipeline/comir/comir.ts.
 * Skipped, with the reason and the Debian packages to install, when the interpreter (CMIR_PYTHON, else /usr/bin/python3)
 * lacks any training module (src/cli/training-python.ts); CI installs them (.ci/run).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { runTrain, runTrainDescriptor } from '../../src/cli/commands/train.ts';
import { checkTrainingPython, describeMissing, trainingPython } from '../../src/cli/training-python.ts';
import { windowVectors } from '../../src/pipeline/index/embedding.ts';
import { LearnedDescriber } from '../../src/pipeline/index/window-descriptor.ts';
import { ComirModel, loadComirModel, type ComirManifest } from '../../src/pipeline/comir/comir.ts';
import { texturedImage } from '../helpers/synthetic-images.ts';

const python = trainingPython();
const missing = describeMissing(checkTrainingPython(python));
if (missing) console.warn(`[training-smoke] SKIPPED: ${missing}`);

// the reason is in the suite's name too, so the test report says why it was skipped
describe.skipIf(missing !== undefined)(`CoMIR training smoke test (Python)${missing ? ` [skipped: ${missing}]` : ''}`, () => {
  let out = '';
  afterAll(async () => {
    if (out) await rm(path.dirname(out), { recursive: true, force: true });
  });

  it('trains a few steps, exports two ONNX files and a manifest with matching sha256', async () => {
    out = path.join(await mkdtemp(path.join(os.tmpdir(), 'cmir-train-')), 'model');
    const code = await runTrain({ pair: 'shg-bf', smoke: true, out, steps: 3, python, device: 'auto' });
    expect(code).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as ComirManifest;
    expect(manifest.modalities.map((m) => m.name)).toEqual(['shg', 'bf']);
    for (const m of manifest.modalities) {
      const sha = createHash('sha256').update(await readFile(path.join(out, m.file))).digest('hex');
      expect(sha).toBe(m.sha256);
      expect(m.input.channels).toBe(1);
    }
    expect(manifest.modalities[0].input.normalization).toBe('log1p');
    expect(manifest.training?.steps).toBe(3);
    // auto: the GPU where torch sees one (Debian's python3-torch never does), recorded by name
    expect(manifest.training?.device).toMatch(/^(cpu|cuda \(.+\))$/);
    expect(typeof manifest.validation?.acc1).toBe('number');
    expect(manifest.network.margin % manifest.network.stride).toBe(0);
    // the window descriptor on generated CoMIRs (--smoke), added to the same manifest
    expect(await runTrainDescriptor({ pair: 'shg-bf', smoke: true, out, descriptorSteps: 3, python })).toBe(0);
    const withDescriptor = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as ComirManifest;
    expect(withDescriptor.modalities).toEqual(manifest.modalities);
    expect(withDescriptor.window_descriptor?.sha256).toBe(createHash('sha256').update(await readFile(path.join(out, 'window.onnx'))).digest('hex'));
  }, 120_000);

  it('loads through comir.ts and runs whole and tiled inference alike', async () => {
    const model = await loadComirModel(out);
    const g = texturedImage(150, 97, 3);
    const img = { width: 150, height: 97, channels: 1, data: g.data };
    const whole = await model.run('shg', img, { tiled: false });
    expect(whole.width).toBe(150);
    expect(whole.height).toBe(97);
    for (const v of whole.data) expect(v >= 0 && v <= 1).toBe(true);
    const tiled = await new ComirModel(out, model.manifest, { tileSize: 40 }).run('shg', img, { tiled: true });
    let maxDiff = 0;
    for (let i = 0; i < whole.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole.data[i] - tiled.data[i]));
    expect(maxDiff).toBeLessThan(1e-4);
    const bf = await model.run('bf', img);
    expect(bf.data.length).toBe(150 * 97);
    await model.release();
  });

  it('trains the BF network on colour H&E (eosin channel or RGB); the exported model refuses a grey BF with UNSUPPORTED_IMAGE', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-colour-'));
    try {
      const g = texturedImage(72, 64, 5);
      const grey = { width: 72, height: 64, channels: 1, data: g.data };
      const rgb = { width: 72, height: 64, channels: 3, data: Float32Array.from({ length: 72 * 64 * 3 }, (_, i) => 0.35 + 0.6 * g.data[Math.floor(i / 3)] * (i % 3 === 1 ? 0.6 : 1)) };
      for (const [kind, channels, normalization] of [['eosin', 1, 'eosin'], ['rgb', 3, 'linear']] as const) {
        const out = path.join(dir, kind);
        expect(await runTrain({ pair: 'shg-bf', smoke: true, bfInput: kind, out, steps: 1, python })).toBe(0);
        const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as ComirManifest;
        expect(manifest.modalities[1].input).toMatchObject({ channels, normalization, colour: 'required', column: 'bf_rgb' });
        expect(manifest.training?.bf_input).toBe(kind);
        const model = await loadComirModel(out);
        const y = await model.representation('bf', rgb);
        expect([y.width, y.height]).toEqual([72, 64]);
        await expect(model.representation('bf', grey)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: expect.stringMatching(/colour \(RGB\)/) });
        await model.release();
      }
      // the trainer refuses a grey file for the eosin rule (the smoke data's `bf` column is grey) instead of guessing
      const r = spawnSync(python, ['training/train_comir.py', '--pair', 'shg-bf', '--smoke', '--steps', '1', '--normalization', 'bf=eosin', '--out', path.join(dir, 'x')], { encoding: 'utf8', cwd: path.resolve(import.meta.dirname, '../..') });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/a colour \(RGB\) image is needed/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('builds the reference Tiramisu (RP2 channel flow) and jitters intensities per modality within [0, 1]', () => {
    const script = `
import json, sys
sys.path.insert(0, 'training')
import numpy as np, torch
from comir.model import Tiramisu, count_parameters
from comir.data import Sampler
t = Tiramisu(1).eval()
skips = [b.out_channels for b in t.down]
y = t(torch.rand(1, 1, 128, 128))
s = Sampler.__new__(Sampler); s.rng = np.random.default_rng(0); s.photometric = 1.0
x = torch.rand(64, 1, 16, 16) * 0.5 + 0.25
j = s.jitter(x)
print(json.dumps(dict(params=count_parameters(t), skips=skips, head=t.head_channels, shape=list(y.shape),
  lo=float(j.min()), hi=float(j.max()), changed=float((j - x).abs().mean()),
  spread=float((j.mean((1, 2, 3)) - x.mean((1, 2, 3))).std()))))
`;
    const r = spawnSync(python, ['-c', script], { encoding: 'utf8', cwd: path.resolve(import.meta.dirname, '../..') });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    // reference-pipeline.md section 2: skips 80/108/129/144/156/165, 176 channels before the 1x1 head, ~1.05M
    // parameters with BatchNorm (ours has no norm layer: 1,036,312)
    expect(o.skips).toEqual([80, 108, 129, 144, 156, 165]);
    expect(o.head).toBe(176);
    expect(o.params).toBe(1_036_312);
    expect(o.shape).toEqual([1, 1, 128, 128]);
    expect(o.lo).toBeGreaterThanOrEqual(0);
    expect(o.hi).toBeLessThanOrEqual(1);
    expect(o.changed).toBeGreaterThan(0.01); // the jitter does something ...
    expect(o.spread).toBeGreaterThan(0.01); // ... and differently per sample
  }, 60_000);

  it('trains a new pair from any pairs.csv (columns, channels and normalization given on the command line)', async () => {
    // 5 aligned pairs: a grey "left" and a 3-channel "right" that is its inverse, in columns the trainer has no preset for
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-newpair-'));
    const lines = ['id,split,left,right'];
    for (let i = 0; i < 5; i++) {
      const g = texturedImage(160, 160, 40 + i);
      const grey = Uint8Array.from(g.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
      const rgb = new Uint8Array(grey.length * 3);
      for (let k = 0; k < grey.length; k++) rgb.fill(255 - grey[k], 3 * k, 3 * k + 3);
      await sharp(grey, { raw: { width: 160, height: 160, channels: 1 } }).png().toFile(path.join(dir, `l${i}.png`));
      await sharp(rgb, { raw: { width: 160, height: 160, channels: 3 } }).png().toFile(path.join(dir, `r${i}.png`));
      lines.push(`p${i},train,l${i}.png,r${i}.png`);
    }
    await writeFile(path.join(dir, 'pairs.csv'), lines.join('\n') + '\n');
    const model = path.join(dir, 'model');
    try {
      const code = await runTrain({ pair: 'demo', data: dir, modalities: 'left,right', channels: ['right=3'], normalization: ['left=percentile'], scaleTolerance: 0.2, structureWeight: 0.5, refine: 20, steps: 1, out: model, python });
      expect(code).toBe(0);
      const manifest = JSON.parse(await readFile(path.join(model, 'manifest.json'), 'utf8')) as ComirManifest;
      expect(manifest.pair).toBe('demo');
      expect(manifest.search).toMatchObject({ scale_tolerance: 0.2, structure_weight: 0.5, refine: 20, source: 'cmir train --scale-tolerance 0.2 --structure-weight 0.5 --refine 20' });
      expect(manifest.modalities.map((m) => [m.name, m.input.channels, m.input.normalization])).toEqual([['left', 1, 'percentile'], ['right', 3, 'linear']]);
      const loaded = await loadComirModel(model); // sha256 and manifest checks
      const out = await loaded.run('right', { width: 64, height: 48, channels: 3, data: new Float32Array(64 * 48 * 3).fill(0.5) });
      expect(out.width * out.height).toBe(64 * 48);
      await loaded.release();

      // the window descriptor of the first stage, trained on this model's CoMIRs of its own training pairs
      const log: string[] = [];
      expect(await runTrainDescriptor({ pair: 'demo', data: dir, out: model, descriptorSteps: 3, python }, (l) => log.push(l))).toBe(0);
      expect(log.filter((l) => l.startsWith('CoMIR train')).length).toBe((manifest.training!.train_ids as string[]).length);
      const withDescriptor = await loadComirModel(model); // checks window.onnx's sha256 too
      const spec = withDescriptor.manifest.window_descriptor!;
      expect(spec).toMatchObject({ format: 'cmir-window/1', file: 'window.onnx', version: `learned-${spec.sha256.slice(0, 12)}` });
      expect(spec.input.grid).toBe(32);
      const describer = await LearnedDescriber.load(model, spec);
      const windows = await windowVectors(texturedImage(200, 200, 7), describer);
      expect(windows.length).toBeGreaterThan(0);
      for (const w of windows) expect(Math.hypot(...w.vector)).toBeCloseTo(1, 4);
      await describer.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('fails with a non-zero exit code on bad arguments', async () => {
    const code = await runTrain({ pair: 'shg-bf', data: path.join(os.tmpdir(), 'cmir-no-such-dir'), steps: 1, python });
    expect(code).not.toBe(0);
  }, 60_000);
});
