/**
 * The eosin channel (colour deconvolution, src/pipeline/decode/stain.ts) against (1) values worked out from the formula
 * here, independently of the implementation, and (2) the Python function the networks were trained with
 * (training/comir/stain.py), run by the training interpreter on the same pixels. Skipped with the reason when that
 * interpreter lacks torch/numpy (src/cli/training-python.ts).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { normalize } from '../../src/pipeline/decode/decode.ts';
import { eosinChannel, stainMatrix } from '../../src/pipeline/decode/stain.ts';
import { checkTrainingPython, describeMissing, trainingPython } from '../../src/cli/training-python.ts';
import type { PlanarImage } from '../../src/pipeline/types.ts';

const rgb = (pixels: number[][]): PlanarImage => ({ width: pixels.length, height: 1, channels: 3, data: new Float32Array(pixels.flat()) });

describe('eosin channel (Ruifrok & Johnston 2001)', () => {
  test('the stain matrix rows are the unit H and E vectors and their unit cross product', () => {
    const [h, e, r] = stainMatrix();
    expect(h[0]).toBeCloseTo(0.65 / Math.hypot(0.65, 0.7, 0.29), 12);
    expect(e[1]).toBeCloseTo(0.99 / Math.hypot(0.07, 0.99, 0.11), 12);
    for (const v of [h, e, r]) expect(Math.hypot(...v)).toBeCloseTo(1, 12);
    expect(r[0] * h[0] + r[1] * h[1] + r[2] * h[2]).toBeCloseTo(0, 12);
    expect(r[0] * e[0] + r[1] * e[1] + r[2] * e[2]).toBeCloseTo(0, 12);
  });

  test('pure eosin of a known amount comes back as that amount / 0.5; pure haematoxylin and white give 0', () => {
    const [h, e] = stainMatrix();
    // Beer-Lambert forward model: I_c = 10^(-amount * vector_c)
    const stain = (v: number[], amount: number) => v.map((c) => 10 ** (-amount * c));
    const img = rgb([stain(e, 0.3), stain(e, 0.1), stain(h, 0.8), [1, 1, 1], stain(e, 0.9)]);
    const out = eosinChannel(img);
    expect(out.channels).toBe(1);
    expect(out.width).toBe(5);
    expect(out.data[0]).toBeCloseTo(0.6, 5);
    expect(out.data[1]).toBeCloseTo(0.2, 5);
    expect(out.data[2]).toBeCloseTo(0, 5); // haematoxylin only
    expect(out.data[3]).toBe(0); // white glass
    expect(out.data[4]).toBe(1); // 0.9 / 0.5 clamped
  });

  test('normalize(image, "eosin") is the eosin channel; a grey image is UNSUPPORTED_IMAGE, not a guess', () => {
    const img = rgb([[0.9, 0.5, 0.8]]);
    expect(Array.from(normalize(img, 'eosin').data)).toEqual(Array.from(eosinChannel(img).data));
    const grey: PlanarImage = { width: 2, height: 1, channels: 1, data: new Float32Array([0.5, 0.7]) };
    expect(() => normalize(grey, 'eosin')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_IMAGE', message: expect.stringMatching(/colour \(RGB\) H&E/) }));
  });
});

const python = trainingPython();
const missing = describeMissing(checkTrainingPython(python));
describe.skipIf(missing !== undefined)(`eosin: TypeScript equals training/comir/stain.py${missing ? ` [skipped: ${missing}]` : ''}`, () => {
  test('same values on every 8-bit level of each channel and on random pixels', () => {
    // every 8-bit value in each channel position plus pseudo-random H&E-like pixels
    const px: number[][] = [];
    for (let v = 0; v < 256; v++) px.push([v, 255 - v, (v * 7) % 256]);
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 255;
    for (let i = 0; i < 768; i++) px.push([Math.round(rnd()), Math.round(rnd()), Math.round(rnd())]);
    const bytes = px.flat();
    const img = rgb(px.map((p) => p.map((v) => v / 255)));
    const ts = Array.from(eosinChannel(img).data);
    const script = [
      'import sys, json, numpy as np, torch',
      `sys.path.insert(0, ${JSON.stringify(path.resolve('training'))})`,
      'from comir.model import preprocess',
      'b = np.array(json.loads(sys.stdin.read()), dtype=np.float32).reshape(1, -1, 3) / 255.0',
      'x = torch.from_numpy(b).permute(2, 0, 1)[None]',
      'print(json.dumps(preprocess(x, "eosin")[0, 0, 0].tolist()))',
    ].join('\n');
    const r = spawnSync(python, ['-c', script], { input: JSON.stringify(bytes), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const py = JSON.parse(r.stdout) as number[];
    expect(py).toHaveLength(ts.length);
    let worst = 0;
    for (let i = 0; i < ts.length; i++) worst = Math.max(worst, Math.abs(ts[i] - py[i]));
    expect(worst).toBeLessThan(1e-5); // float32 (torch) vs float64 (JS) arithmetic
    // the comparison is not vacuous: the values span the range
    expect(Math.max(...py)).toBe(1);
    expect(py.filter((v) => v > 0 && v < 1).length).toBeGreaterThan(100);
  });
});
