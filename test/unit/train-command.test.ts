/** `cmir train` (src/cli/commands/train.ts): argv for the Python trainer, option checks, failure exit codes. */
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerTrain, runTrain, trainArgs } from '../../src/cli/commands/train.ts';

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

  it('reports a missing interpreter', async () => {
    await expect(runTrain({ pair: 'shg-bf', smoke: true, python: '/nonexistent/python3' })).rejects.toThrow(/not found/);
  });

  it('passes a non-zero exit code through', async () => {
    // /bin/false ignores its arguments and exits 1
    expect(await runTrain({ pair: 'shg-bf', smoke: true, python: '/bin/false' })).toBe(1);
  });
});
