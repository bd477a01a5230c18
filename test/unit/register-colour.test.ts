/**
 * training/register_colour_bf.py: a textured colour "scan" and a grey image made from it by a known similarity
 * (rotation, scale, shift, optionally mirrored); the registration must find that transform again and the aligned colour
 * image's grey must match the grey one. Skipped with the reason when the training interpreter lacks torch/numpy.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkTrainingPython, describeMissing, trainingPython } from '../../src/cli/training-python.ts';

const python = trainingPython();
const missing = describeMissing(checkTrainingPython(python));

const script = `
import json, math, sys
sys.path.insert(0, 'training')
import numpy as np, torch
import torch.nn.functional as F
from register_colour_bf import apply, grey, register, similarity_theta, warp
torch.set_num_threads(1)
rng = np.random.default_rng(3)
n = 256
noise = torch.from_numpy(rng.random((1, 3, n // 8, n // 8)).astype(np.float32))
scan = F.interpolate(noise, size=(n, n), mode="bicubic", align_corners=False).clamp(0, 1)
scan = scan + 0.15 * torch.from_numpy(rng.random((1, 3, n, n)).astype(np.float32))  # fine texture
rgb = (scan.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
out = []
for angle, scale, t, flip in ((7.0, 1.08, (0.03, -0.05), False), (-40.0, 0.9, (-0.04, 0.02), True)):
    th = similarity_theta(torch.tensor([math.radians(angle)]), torch.tensor([math.log(scale)]), torch.tensor([t]), flip)
    g = torch.from_numpy(grey(rgb))[None, None]
    bf = warp(g, th, (n, n))[0, 0].numpy()
    reg = register(grey(rgb), bf, refine_iters=40)
    aligned, cover = apply(rgb, reg, (n, n))
    d = grey(aligned)[cover] - bf[cover]
    out.append(dict(angle=reg["angle_deg"], scale=reg["scale"], t=reg["t"], flip=reg["flip"], ncc=reg["ncc_similarity"],
                    rms=float(np.sqrt((d * d).mean())), cover=float(cover.mean())))
print(json.dumps(out))
`;

describe.skipIf(missing !== undefined)(`register_colour_bf.py${missing ? ` [skipped: ${missing}]` : ''}`, () => {
  test('recovers a known rotation, scale, shift and mirror of the colour scan', () => {
    const r = spawnSync(python, ['-c', script], { encoding: 'utf8', cwd: path.resolve(import.meta.dirname, '../..') });
    expect(r.status, r.stderr).toBe(0);
    const [plain, mirrored] = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { angle: number; scale: number; t: number[]; flip: boolean; ncc: number; rms: number; cover: number }[];
    for (const [got, want] of [[plain, { angle: 7, scale: 1.08, t: [0.03, -0.05], flip: false }], [mirrored, { angle: -40, scale: 0.9, t: [-0.04, 0.02], flip: true }]] as const) {
      expect(got.flip).toBe(want.flip);
      expect(Math.abs(got.angle - want.angle)).toBeLessThan(0.3); // degrees
      expect(Math.abs(got.scale - want.scale)).toBeLessThan(0.005);
      // normalised units: 1 = half the image (128 px here), so 0.004 = 0.5 px
      expect(Math.abs(got.t[0] - want.t[0])).toBeLessThan(0.004);
      expect(Math.abs(got.t[1] - want.t[1])).toBeLessThan(0.004);
      expect(got.ncc).toBeGreaterThan(0.99);
      expect(got.rms).toBeLessThan(0.02); // grey of the aligned colour vs the grey image, [0,1] units
      expect(got.cover).toBeGreaterThan(0.5);
    }
  }, 180_000);
});
