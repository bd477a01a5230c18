/**
 * `cmir train`'s search evaluation end to end (src/cli/search-evaluation.ts, docs/adr/0025): a one-step model of a
 * generated pair set, then the evaluation through the command's runner on the model's held-out pairs. The pair set
 * gives the structure term something to find: the second modality is the first's negative, so the images' own edges
 * (docs/adr/0008: the Sobel magnitude, which a negative keeps) match, while a network trained for one step maps the
 * two to anti-correlated CoMIRs (the trainer logs r = -0.73 on the held-out pairs). Training and search are
 * deterministic (seed 0, one thread; seeded transforms), so the figures are too. Skipped like training-smoke when
 * Python lacks torch.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerTrain, runTrain } from '../../src/cli/commands/train.ts';
import { byCost } from '../../src/cli/search-evaluation.ts';
import { checkTrainingPython, describeMissing, trainingPython } from '../../src/cli/training-python.ts';
import { texturedImage } from '../helpers/synthetic-images.ts';

const python = trainingPython();
const missing = describeMissing(checkTrainingPython(python));

interface Written {
  search: { scale_tolerance: number; structure_weight: number; refine: number; source: string };
  search_evaluation: {
    chosen: { scale_tolerance: number; structure_weight: number; refine: number };
    repository_size: number;
    chance_acc1: number;
    warning: string | null;
    configs: { scale_tolerance: number; structure_weight: number; refine: number; mean_acc1: number; seconds: number; cells: { direction: string; query: string; n: number; acc1: number; acc5: number; chance: number }[] }[];
  };
  validation: { ids: string[] };
}

describe.skipIf(missing !== undefined)(`cmir train: search evaluation on held-out pairs${missing ? ` [skipped: ${missing}]` : ''}`, () => {
  let dir = '';
  const model = () => path.join(dir, 'model');

  beforeAll(async () => {
    // 24 pairs: the trainer holds out 24 // 8 = 3 (training/comir/data.py default_n_val)
    dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-train-eval-'));
    const lines = ['id,split,left,right'];
    for (let i = 0; i < 24; i++) {
      const g = texturedImage(200, 200, 100 + i);
      const grey = Uint8Array.from(g.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
      await sharp(grey, { raw: { width: 200, height: 200, channels: 1 } }).png().toFile(path.join(dir, `l${i}.png`));
      await sharp(grey.map((v) => 255 - v), { raw: { width: 200, height: 200, channels: 1 } }).png().toFile(path.join(dir, `r${i}.png`));
      lines.push(`p${i},train,l${i}.png,r${i}.png`);
    }
    await writeFile(path.join(dir, 'pairs.csv'), lines.join('\n') + '\n');
    expect(await runTrain({ pair: 'neg', data: dir, modalities: 'left,right', steps: 1, out: model(), python })).toBe(0);
  }, 300_000); // ~70 s of a loaded 2-core machine's wall time for one step, its validation and export
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sweeps what the user left open, writes the figures and picks the better configuration', async () => {
    // through the command line, as a lab re-runs it: the user fixes the scale sweep and refinement, so only the
    // structure weight is swept (0 and 0.5); no Python is needed
    const out: string[] = [], err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((l: string) => void out.push(l));
    const error = vi.spyOn(console, 'error').mockImplementation((l: string) => void err.push(l));
    try {
      const program = new Command('cmir').exitOverride();
      registerTrain(program);
      await program.parseAsync(['node', 'cmir', 'train', '--pair', 'neg', '--modalities', 'left,right', '--data', dir, '--out', model(),
        '--evaluate-only', '--scale-tolerance', '0', '--refine', '0', '--python', '/nonexistent/python3']);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
    const m = JSON.parse(await readFile(path.join(model(), 'manifest.json'), 'utf8')) as Written;
    const ev = m.search_evaluation;
    expect(ev.repository_size).toBe(3);
    expect(ev.repository_size).toBe(m.validation.ids.length);
    expect(ev.chance_acc1).toBeCloseTo(1 / 3, 3);
    expect(ev.configs.map((c) => [c.scale_tolerance, c.structure_weight, c.refine])).toEqual([[0, 0, 0], [0, 0.5, 0]]);
    for (const c of ev.configs) {
      // both directions, whole and crop, one query per held-out pair each
      expect(c.cells.map((x) => `${x.direction} ${x.query}`)).toEqual(['LEFT->RIGHT whole', 'LEFT->RIGHT crop', 'RIGHT->LEFT whole', 'RIGHT->LEFT crop']);
      for (const x of c.cells) {
        expect(x.n).toBe(3);
        expect(x.acc5).toBeGreaterThanOrEqual(x.acc1);
      }
      expect(c.mean_acc1).toBeCloseTo(c.cells.reduce((a, x) => a + x.acc1, 0) / 4, 3);
      expect(c.seconds).toBeGreaterThan(0);
    }
    // the shared edges help, so the figures change with the configuration
    const [plain, structure] = ev.configs;
    expect(structure.mean_acc1).toBeGreaterThan(plain.mean_acc1);
    // the pick is the argmax of the recorded figures (ties: the cheaper), and it is what the manifest now declares
    const best = [...ev.configs].sort((a, b) => b.mean_acc1 - a.mean_acc1 || byCost(
      { scaleTolerance: a.scale_tolerance, structureWeight: a.structure_weight, refine: a.refine },
      { scaleTolerance: b.scale_tolerance, structureWeight: b.structure_weight, refine: b.refine }))[0];
    expect(ev.chosen).toEqual({ scale_tolerance: best.scale_tolerance, structure_weight: best.structure_weight, refine: best.refine });
    expect(ev.chosen).toEqual({ scale_tolerance: 0, structure_weight: 0.5, refine: 0 });
    expect(m.search).toMatchObject(ev.chosen);
    expect(m.search.source).toMatch(/held-out pairs/);
    expect(out.some((l) => l.includes('<- chosen'))).toBe(true);
    // 3 images: chance is 1/3, and 12 queries cannot tell even 58 % from it (Wilson interval 32-81 %): warned, plainly
    expect(ev.warning).toMatch(/near chance/);
    expect(err).toEqual([`warning: ${ev.warning}`]);
  }, 300_000);
});
