/** `cmir train` (src/cli/commands/train.ts): argv for the Python trainer, option checks, failure exit codes. */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrain, runTrain, trainArgs } from '../../src/cli/commands/train.ts';
import { checkTrainingPython, requireTrainingPython, trainingPython } from '../../src/cli/training-python.ts';

describe('cmir train', () => {
  it('builds the trainer argv', () => {
    const args = trainArgs({ pair: 'shg-bf', data: '/d', steps: 10, out: 'models/x', smoke: true, threads: 2 });
    expect(path.basename(args[0])).toBe('train_comir.py');
    expect(args.slice(1)).toEqual(['--pair', 'shg-bf', '--data', '/d', '--steps', '10', '--out', 'models/x', '--smoke', '--threads', '2']);
  });

  it('passes the device and the photometric jitter through', () => {
    const args = trainArgs({ pair: 'vis-nir', data: '/d', device: 'auto', photometric: 1 });
    expect(args.slice(1)).toEqual(['--pair', 'vis-nir', '--data', '/d', '--device', 'auto', '--photometric', '1']);
  });

  it('passes a new pair\'s columns, channels and normalizations through', () => {
    const args = trainArgs({ pair: 'mri-ct', data: '/d', modalities: 'mri,other', channels: ['other=3'], normalization: ['mri=percentile', 'other=log1p'], scaleTolerance: 0.1, structureWeight: 0.5, refine: 20 });
    expect(args.slice(1)).toEqual(['--pair', 'mri-ct', '--data', '/d', '--modalities', 'mri,other', '--channels', 'other=3',
      '--normalization', 'mri=percentile', '--normalization', 'other=log1p', '--scale-tolerance', '0.1', '--structure-weight', '0.5', '--refine', '20']);
  });

  it('passes shg-bf\'s --bf-input through and rejects an unknown one with BAD_USER_INPUT', async () => {
    expect(trainArgs({ pair: 'shg-bf', data: '/d', bfInput: 'eosin' }).slice(1)).toEqual(['--pair', 'shg-bf', '--data', '/d', '--bf-input', 'eosin']);
    const p = new Command('cmir').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerTrain(p);
    await expect(p.parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', '--smoke', '--bf-input', 'blue'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('grey, rgb or eosin') });
  });

  it('rejects a new pair without --modalities, a preset with them, missing --data and a bad --steps with BAD_USER_INPUT', async () => {
    const mk = () => {
      const p = new Command('cmir').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
      registerTrain(p);
      return p;
    };
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'foo', '--data', '/d'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', '--data', '/d', '--modalities', 'a,b'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', '../x', '--data', '/d', '--modalities', 'a,b'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', '--smoke', '--steps', '0'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', '--smoke', '--structure-weight', '2'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', '--smoke', '--scale-tolerance', '2'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', '--smoke', '--refine', '2.5'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', '--smoke', '--device', 'gpu'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', '--smoke', '--photometric', '3'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('--evaluate-only needs held-out pairs on disk and a model with at least two, and trains nothing', async () => {
    const mk = () => {
      const p = new Command('cmir').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
      registerTrain(p);
      return p;
    };
    const bad = (argv: string[], parameter: string) =>
      expect(mk().parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', ...argv])).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { parameter } });
    await bad(['--evaluate-only', '--smoke'], '--evaluate-only');
    await bad(['--evaluate-only', '--data', '/d', '--descriptor-only'], '--evaluate-only');
    await bad(['--evaluate-only', '--data', '/d', '--no-evaluate'], '--evaluate-only');
    await bad(['--evaluate-only', '--data', '/d', '--evaluate-budget', '0'], '--evaluate-budget');
    // a model that holds out one pair: nothing to search in, refused before anything is opened (no Python asked)
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-evalonly-'));
    try {
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ pair: 'shg-bf', modalities: [], validation: { ids: ['a'] } }));
      await bad(['--evaluate-only', '--data', dir, '--out', dir, '--python', '/nonexistent/python3'], '--out');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing interpreter', async () => {
    await expect(runTrain({ pair: 'shg-bf', smoke: true, python: '/nonexistent/python3' })).rejects.toMatchObject({ code: 'PREREQUISITES_MISSING', message: expect.stringMatching(/not found/) });
  });

  it('passes a non-zero exit code through', async () => {
    // /bin/false ignores its arguments and exits 1
    expect(await runTrain({ pair: 'shg-bf', smoke: true, python: '/bin/false' })).toBe(1);
  });
});

/**
 * The check `cmir train` runs first (src/cli/training-python.ts), against interpreters that lack chosen modules: a
 * wrapper around a real python3 whose PYTHONPATH puts first a stub per blocked module that raises ImportError, as
 * Python does for a module that is not installed.
 */
describe('cmir train: Python prerequisites', () => {
  // any Python 3 will do: the stubs make the blocked modules fail whatever the interpreter has installed
  const realPython = ['/usr/bin/python3', '/bin/python3'].find((p) => existsSync(p));
  let dir = '';
  /** A `python` that cannot import `blocked` (and has whatever else the real interpreter has). */
  async function pythonWithout(name: string, blocked: string[]): Promise<string> {
    const stubs = path.join(dir, `${name}-stubs`);
    await mkdir(stubs, { recursive: true });
    for (const m of blocked) await writeFile(path.join(stubs, `${m}.py`), `raise ModuleNotFoundError("No module named '${m}'")\n`);
    const exe = path.join(dir, name);
    await writeFile(exe, `#!/bin/sh\nPYTHONPATH=${JSON.stringify(stubs)} exec ${realPython} "$@"\n`);
    await chmod(exe, 0o755);
    return exe;
  }
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-fake-python-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!realPython)('names every missing module with its Debian package', async () => {
    const python = await pythonWithout('bare', ['torch', 'numpy', 'PIL', 'tifffile']);
    const check = checkTrainingPython(python);
    expect(check.failure).toBeUndefined();
    expect(check.missing.map((m) => m.module)).toEqual(['torch', 'numpy', 'PIL', 'tifffile']);
    expect(() => requireTrainingPython(python)).toThrow(
      expect.objectContaining({
        code: 'PREREQUISITES_MISSING',
        message: expect.stringContaining('apt-get install -y --no-install-recommends python3-torch python3-numpy python3-pil python3-tifffile'),
        details: expect.objectContaining({ missing: ['torch', 'numpy', 'PIL', 'tifffile'], packages: ['python3-torch', 'python3-numpy', 'python3-pil', 'python3-tifffile'] }),
      }),
    );
  });

  it.skipIf(!realPython)('`cmir train` stops before training when only tifffile is missing (issue 23), naming python3-tifffile', async () => {
    const python = await pythonWithout('no-tifffile', ['tifffile']);
    const out = path.join(dir, 'model-never-written');
    const p = new Command('cmir').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerTrain(p);
    const run = p.parseAsync(['node', 'cmir', 'train', '--pair', 'shg-bf', '--smoke', '--steps', '1', '--out', out, '--python', python]);
    await expect(run).rejects.toMatchObject({ code: 'PREREQUISITES_MISSING', message: expect.stringMatching(/cannot import .*tifffile.*python3-tifffile/) });
    expect(existsSync(out)).toBe(false); // the trainer never ran
  });

  it('a missing or broken interpreter is PREREQUISITES_MISSING too, with the whole package list', async () => {
    const gone = checkTrainingPython('/nonexistent/python3');
    expect(gone.failure).toBe('not found');
    expect(() => requireTrainingPython('/nonexistent/python3')).toThrow(/\/nonexistent\/python3 is not found: apt-get install .*python3-torch python3-numpy python3-pil python3-tifffile/);
    // /bin/false runs but answers nothing: not a working Python
    expect(checkTrainingPython('/bin/false').failure).toMatch(/not a working Python 3 \(exit code 1/);
  });

  it('takes --python first, then CMIR_PYTHON, then /usr/bin/python3', () => {
    expect(trainingPython('/opt/py', { CMIR_PYTHON: '/env/py' })).toBe('/opt/py');
    expect(trainingPython(undefined, { CMIR_PYTHON: '/env/py' })).toBe('/env/py');
    expect(trainingPython(undefined, {})).toBe('/usr/bin/python3');
  });
});
