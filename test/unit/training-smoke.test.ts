/**
 * The Python trainer end to end, through the CLI command's runner (src/cli/commands/train.ts): a few steps on tiny
 * generated pairs, ONNX export and manifest, then the exported networks through src/pipeline/comir.ts.
 * Skipped (with a message) only when /usr/bin/python3 has no torch; CI installs python3-torch (.ci/run).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PYTHON, runTrain } from '../../src/cli/commands/train.ts';
import { ComirModel, loadComirModel, type ComirManifest } from '../../src/pipeline/comir.ts';
import { texturedImage } from '../helpers/synthetic-images.ts';

const python = process.env.CMIR_PYTHON ?? DEFAULT_PYTHON;
const hasTorch = existsSync(python) && spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`[training-smoke] SKIPPED: ${python} cannot import torch (apt-get install python3-torch python3-numpy python3-pil python3-tifffile)`);

describe.skipIf(!hasTorch)('CoMIR training smoke test (Python)', () => {
  let out = '';
  afterAll(async () => {
    if (out) await rm(path.dirname(out), { recursive: true, force: true });
  });

  it('trains a few steps, exports two ONNX files and a manifest with matching sha256', async () => {
    out = path.join(await mkdtemp(path.join(os.tmpdir(), 'cmir-train-')), 'model');
    const code = await runTrain({ pair: 'shg-bf', smoke: true, out, steps: 3, python });
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
    expect(typeof manifest.validation?.acc1).toBe('number');
    expect(manifest.network.margin % manifest.network.stride).toBe(0);
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

  it('fails with a non-zero exit code on bad arguments', async () => {
    const code = await runTrain({ pair: 'shg-bf', data: path.join(os.tmpdir(), 'cmir-no-such-dir'), steps: 1, python });
    expect(code).not.toBe(0);
  }, 60_000);
});
