/**
 * `cmir train`: trains a CoMIR pair with the Python trainer (training/train_comir.py, PyTorch from Debian) and writes
 * two ONNX files + manifest.json, then the pair's window descriptor for the first stage
 * (training/train_window_descriptor.py, docs/adr/0015) on the new networks' CoMIRs of the same training pairs. The
 * Python output (progress, loss and validation) streams through.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { BadUserInputError, invalidParameter, optionalInRange, PrerequisitesMissingError } from '../../errors.ts';
import { loadComirModel } from '../../pipeline/comir/comir.ts';
import { decodeImage } from '../../pipeline/decode/decode.ts';
import { MAX_REFINE, POSE_BOUNDS } from '../../pipeline/rerank/correlate.ts';
import { readPairRows } from '../pair-data.ts';
import { evaluateSearch, type SearchDefaults, type SearchEvaluation, writeSearchEvaluation } from '../search-evaluation.ts';
import { DEFAULT_PYTHON, describeMissing, requireTrainingPython, TRAINING_MODULES, trainingPython } from '../training-python.ts';
import { PROJECT_ROOT } from '../../paths.ts';

export { DEFAULT_PYTHON };
export const TRAIN_PAIRS = ['shg-bf', 'vis-nir'] as const;


export interface TrainOptions {
  pair: string;
  data?: string;
  steps?: number;
  out?: string;
  smoke?: boolean;
  python?: string;
  threads?: number;
  /** Where the networks train: cpu (the trainer's default), cuda, or auto (cuda when torch sees a GPU). */
  device?: TrainDevice;
  /** Strength of the per-modality intensity jitter (0 = off, the trainer's default; training/README.md). */
  photometric?: number;
  /** A new pair (not a preset): the two pairs.csv columns holding its images, also the network names. */
  modalities?: string;
  /** MODALITY=1|3 input channels of a new pair's modalities (default 1). */
  channels?: string[];
  /** MODALITY=linear|log1p|percentile|eosin overrides of the input normalization. */
  normalization?: string[];
  /** shg-bf: what the BF network reads (grey, or the registered colour H&E as rgb or eosin; training/README.md). */
  bfInput?: string;
  /** Written to the manifest's `search.scale_tolerance`: the pair's default scale sweep for correlation searches. */
  scaleTolerance?: number;
  /** Written to the manifest's `search.structure_weight`: the weight of structure in correlation searches. */
  structureWeight?: number;
  /** Written to the manifest's `search.refine`: how many candidates correlation searches refine (docs/adr/0009). */
  refine?: number;
  /** Skip the window descriptor (commander's --no-window-descriptor sets false). */
  windowDescriptor?: boolean;
  /** Train only the window descriptor of the existing model in `out` (default models/<pair>). */
  descriptorOnly?: boolean;
  /** Steps of the window descriptor (default 3000, train_window_descriptor.py). */
  descriptorSteps?: number;
  /** Skip the search evaluation after training (commander's --no-evaluate sets false). */
  evaluate?: boolean;
  /** Only run the search evaluation on the existing model in `out` (no training; docs/adr/0025). */
  evaluateOnly?: boolean;
  /** Seconds the evaluation's sweep may take before it starts no further configuration. */
  evaluateBudget?: number;
}

export const TRAIN_DEVICES = ['cpu', 'cuda', 'auto'] as const;
export type TrainDevice = (typeof TRAIN_DEVICES)[number];

/** The argv of the trainer for the given options (exported for tests). */
export function trainArgs(o: TrainOptions): string[] {
  const args = [path.join(PROJECT_ROOT, 'training', 'train_comir.py'), '--pair', o.pair];
  if (o.data) args.push('--data', o.data);
  if (o.steps !== undefined) args.push('--steps', String(o.steps));
  if (o.out) args.push('--out', o.out);
  if (o.smoke) args.push('--smoke');
  if (o.threads !== undefined) args.push('--threads', String(o.threads));
  if (o.device) args.push('--device', o.device);
  if (o.photometric !== undefined) args.push('--photometric', String(o.photometric));
  if (o.modalities) args.push('--modalities', o.modalities);
  for (const c of o.channels ?? []) args.push('--channels', c);
  for (const n of o.normalization ?? []) args.push('--normalization', n);
  if (o.bfInput) args.push('--bf-input', o.bfInput);
  if (o.scaleTolerance !== undefined) args.push('--scale-tolerance', String(o.scaleTolerance));
  if (o.structureWeight !== undefined) args.push('--structure-weight', String(o.structureWeight));
  if (o.refine !== undefined) args.push('--refine', String(o.refine));
  return args;
}

/** Runs a Python script with inherited stdio; resolves with its exit code (a signal gives 1). */
function runPython(o: Pick<TrainOptions, 'python'>, args: string[]): Promise<number> {
  const python = trainingPython(o.python);
  if (!existsSync(python)) {
    return Promise.reject(new PrerequisitesMissingError(describeMissing({ python, missing: [...TRAINING_MODULES], failure: 'not found' })!, { python }));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { stdio: 'inherit', env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Runs the CoMIR trainer; resolves with its exit code. */
export function runTrain(o: TrainOptions): Promise<number> {
  return runPython(o, trainArgs(o));
}

/** The model folder a training writes (the trainer's default: models/<pair> under the working directory). */
export function modelOut(o: Pick<TrainOptions, 'out' | 'pair'>): string {
  return o.out ?? path.join('models', o.pair);
}

/**
 * The CoMIRs of a model's own training and validation pairs (the manifest's `training.train_ids`, `validation.ids`) as
 * the product computes them (services/representation.service.ts: the manifest's normalisation, channels matched, output
 * clamped to [0,1]): raw little-endian float32 files and an index.csv (id, role, width, height, one file per
 * modality), what train_window_descriptor.py reads. The pair folder is `data/<pair>`, or `data` when it holds pairs.csv.
 */
export async function writeTrainingComirs(modelDir: string, data: string, out: string, log: (line: string) => void = () => {}): Promise<void> {
  const model = await loadComirModel(modelDir, { intraOpNumThreads: Math.max(1, os.availableParallelism()) });
  try {
    const manifest = model.manifest;
    const { dir: pairDir, rows } = await readPairRows(data, manifest.pair);
    const ids = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);
    const roles: [string, string[]][] = [['train', ids(manifest.training?.train_ids)], ['validation', ids(manifest.validation?.ids)]];
    if (roles[0][1].length === 0) throw invalidParameter('--out', 'a model whose manifest lists training.train_ids', modelDir);
    await mkdir(out, { recursive: true });
    const index = [['id', 'role', 'width', 'height', ...model.modalities].join(',')];
    for (const [role, list] of roles) {
      for (const id of list) {
        const row = rows.get(id);
        if (!row) throw invalidParameter('--data', `a pairs.csv that holds the model's training pair ${id}`, pairDir);
        const files: string[] = [];
        let size = { width: 0, height: 0 };
        for (const name of model.modalities) {
          const column = model.modality(name).input.column ?? name; // shg-bf --bf-input rgb|eosin: bf_rgb
          const { image } = await decodeImage(await readFile(path.join(pairDir, row[column])), { maxPixels: 1e9 });
          const comir = await model.representation(name, image);
          const f32 = comir.data;
          const file = `${id}-${name}.f32`;
          await writeFile(path.join(out, file), Buffer.from(f32.buffer));
          files.push(file);
          size = { width: comir.width, height: comir.height };
        }
        index.push([id, role, size.width, size.height, ...files].join(','));
        log(`CoMIR ${role} ${id} ${size.width}x${size.height}`);
      }
    }
    await writeFile(path.join(out, 'index.csv'), index.join('\n') + '\n');
  } finally {
    await model.release();
  }
}

/**
 * Trains the window descriptor of the model in `out` (writes window.onnx and the manifest's `window_descriptor`):
 * `--smoke` on generated CoMIRs, otherwise on the model's CoMIRs of its training pairs (written to a temporary folder
 * and removed after). Resolves with the trainer's exit code.
 */
export async function runTrainDescriptor(o: TrainOptions, log: (line: string) => void = console.log): Promise<number> {
  const model = modelOut(o);
  const args = [path.join(PROJECT_ROOT, 'training', 'train_window_descriptor.py'), '--model', model];
  if (o.descriptorSteps !== undefined) args.push('--steps', String(o.descriptorSteps));
  if (o.threads !== undefined) args.push('--threads', String(o.threads));
  if (o.smoke) return runPython(o, [...args, '--smoke']);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cmir-comirs-'));
  try {
    await writeTrainingComirs(model, o.data!, tmp, log);
    return await runPython(o, [...args, '--comirs', tmp]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The search defaults the user gave on the command line: the evaluation does not sweep them. */
export function fixedSearchDefaults(o: TrainOptions): Partial<SearchDefaults> {
  return Object.fromEntries(
    (['scaleTolerance', 'structureWeight', 'refine'] as const).filter((k) => o[k] !== undefined).map((k) => [k, o[k]]),
  ) as Partial<SearchDefaults>;
}

/** One line per configuration: its defaults, Acc@1 per direction and query kind, the mean, and the seconds. */
export function formatEvaluation(e: SearchEvaluation): string[] {
  const pct = (v: number) => `${(100 * v).toFixed(1)}`.padStart(5);
  const cells = e.configs[0]?.cells.map((c) => `${c.direction} ${c.query}`) ?? [];
  const lines = [
    `search evaluation on ${e.repositorySize} held-out pairs (chance Acc@1 ${(100 * e.chance).toFixed(1)} %), Acc@1 % per direction and query:`,
    ['scale_tol', 'structure', 'refine', ...cells, 'mean', 'seconds'].join('  '),
  ];
  for (const c of e.configs) {
    const mark = c.scaleTolerance === e.chosen.scaleTolerance && c.structureWeight === e.chosen.structureWeight && c.refine === e.chosen.refine ? ' <- chosen' : '';
    lines.push([String(c.scaleTolerance).padStart(9), String(c.structureWeight).padStart(9), String(c.refine).padStart(6),
      ...c.cells.map((x, i) => pct(x.acc1).padStart(cells[i].length)), pct(c.meanAcc1).padStart(4), String(c.seconds).padStart(7)].join('  ') + mark);
  }
  for (const c of e.skipped) lines.push(`skipped (budget ${e.budgetSeconds} s spent): scale_tolerance ${c.scaleTolerance} structure_weight ${c.structureWeight} refine ${c.refine}`);
  lines.push(`written to the manifest's search block: scale_tolerance ${e.chosen.scaleTolerance}, structure_weight ${e.chosen.structureWeight}, refine ${e.chosen.refine} (${e.seconds.total} s)`);
  return lines;
}

/**
 * Runs the search evaluation on the model in `out` (docs/adr/0025) and writes its choice and figures into the
 * manifest; the figures go to stdout, a near-chance warning to stderr.
 */
export async function runEvaluation(o: TrainOptions, log: (line: string) => void = console.log, warn: (line: string) => void = console.error): Promise<SearchEvaluation> {
  const modelDir = modelOut(o);
  const e = await evaluateSearch({ modelDir, data: o.data!, fixed: fixedSearchDefaults(o), budgetSeconds: o.evaluateBudget, log });
  await writeSearchEvaluation(modelDir, e);
  for (const line of formatEvaluation(e)) log(line);
  if (e.warning) warn(`warning: ${e.warning}`);
  return e;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * A number in 0..max for a manifest `search` default, checked as the search input checks it (errors.ts
 * optionalInRange): `--scale-tolerance` (docs/adr/0005, `scaleTolerance`), `--structure-weight` (docs/adr/0008,
 * `structureWeight`), `--refine` (docs/adr/0009, `refine`, an integer); and the trainer's own `--photometric`.
 */
function parseInRange(name: string, max: number, unit: 'fraction' | 'weight' | 'integer' | 'value') {
  return (v: string): number => optionalInRange(name, Number(v), 0, max, unit)!;
}

function parseDevice(v: string): TrainDevice {
  if (!(TRAIN_DEVICES as readonly string[]).includes(v)) throw invalidParameter('--device', TRAIN_DEVICES.join(', '), v);
  return v as TrainDevice;
}

function parsePositiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw invalidParameter(name, 'a positive integer', v);
    return n;
  };
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a CoMIR network pair (PyTorch) and export two ONNX files + manifest.json')
    .requiredOption('--pair <name>', `modality pair: a preset (${TRAIN_PAIRS.join(', ')}) or a new pair's name with --modalities`)
    .option('--data <dir>', 'data folder in the pairs.csv layout (the pair folder or the shared data root)')
    .option('--modalities <a,b>', "a new pair: the two pairs.csv columns with its aligned images (the networks' names)")
    .option('--channels <m=n>', 'a new pair: input channels of a modality, 1 (default) or 3; repeatable', collect, [])
    .option('--normalization <m=rule>', 'input normalization of a modality: linear, log1p, percentile or eosin; repeatable', collect, [])
    .option('--bf-input <kind>', 'shg-bf: the BF network reads grey (default), or rgb or eosin of the colour H&E registered by training/register_colour_bf.py (--data its output)')
    .option('--scale-tolerance <fraction>', "the pair's default scale sweep for searches, into the manifest (docs/adr/0005)", parseInRange('--scale-tolerance', POSE_BOUNDS.scaleTolerance, 'fraction'))
    .option('--structure-weight <w>', "weight (0-1) of the images' own edges beside the CoMIR in searches, into the manifest (docs/adr/0008)", parseInRange('--structure-weight', 1, 'weight'))
    .option('--refine <n>', 'how many of the best candidates searches correlate again at twice the resolution, into the manifest (docs/adr/0009)', parseInRange('--refine', MAX_REFINE, 'integer'))
    .option('--steps <n>', 'training steps (default 450; --smoke 4)', parsePositiveInt('--steps'))
    .option('--out <dir>', 'output model folder (default models/<pair>)')
    .option('--threads <n>', 'torch threads (default 1)', parsePositiveInt('--threads'))
    .option('--device <where>', 'where the networks train: cpu (default), cuda or auto (cuda when torch sees a GPU)', parseDevice)
    .option('--photometric <s>', 'strength of the per-modality intensity jitter, 0-2 (default 0 = off; training/README.md)', parseInRange('--photometric', 2, 'value')) // the trainer's own range (train_comir.py)
    .option('--no-window-descriptor', "skip the first stage's window descriptor (docs/adr/0015)")
    .option('--descriptor-only', 'train only the window descriptor of the model already in --out (default models/<pair>)')
    .option('--descriptor-steps <n>', 'window descriptor training steps (default 3000; --smoke 20)', parsePositiveInt('--descriptor-steps'))
    .option('--no-evaluate', "skip the search evaluation on the held-out pairs that picks the manifest's search defaults (docs/adr/0025)")
    .option('--evaluate-only', 'only evaluate the model already in --out (default models/<pair>) on its held-out pairs and write its search defaults; no training')
    .option('--evaluate-budget <s>', 'seconds the evaluation may spend on its sweep before it starts no further configuration (default 600)', parsePositiveInt('--evaluate-budget'))
    .option('--python <path>', `Python interpreter with ${TRAINING_MODULES.map((m) => m.module).join(', ')} (default $CMIR_PYTHON or ${DEFAULT_PYTHON}); checked before training starts`)
    .option('--smoke', 'a few steps on tiny generated pairs (no data needed)')
    .action(async (opts: TrainOptions) => {
      const preset = (TRAIN_PAIRS as readonly string[]).includes(opts.pair);
      if (!opts.smoke && !preset && !opts.modalities) {
        throw invalidParameter('--modalities', `two pairs.csv columns, e.g. mri,other (a pair other than ${TRAIN_PAIRS.join(', ')})`, opts.modalities);
      }
      if (preset && opts.modalities) throw invalidParameter('--modalities', `nothing for the preset ${opts.pair}`, opts.modalities);
      if (!/^[A-Za-z0-9._-]+$/.test(opts.pair)) throw invalidParameter('--pair', 'a name of letters, digits, . _ -', opts.pair);
      if (!opts.smoke && !opts.data) throw invalidParameter('--data', 'a data folder (or --smoke)', opts.data);
      if (opts.bfInput !== undefined && !['grey', 'rgb', 'eosin'].includes(opts.bfInput)) throw invalidParameter('--bf-input', 'grey, rgb or eosin', opts.bfInput);
      if (opts.descriptorOnly && opts.windowDescriptor === false) throw invalidParameter('--descriptor-only', 'not with --no-window-descriptor', true);
      if (opts.evaluateOnly) {
        if (opts.smoke) throw invalidParameter('--evaluate-only', 'not with --smoke (it needs the held-out pairs in --data)', true);
        if (opts.descriptorOnly || opts.evaluate === false) throw invalidParameter('--evaluate-only', 'not with --descriptor-only or --no-evaluate', true);
        await runEvaluation(opts); // no Python: the product's own search
        return;
      }
      // Python and its modules before anything starts, naming the packages to install (PREREQUISITES_MISSING)
      requireTrainingPython(trainingPython(opts.python));
      if (!opts.descriptorOnly) {
        const code = await runTrain(opts);
        if (code !== 0) {
          console.error(`error [TRAINING_FAILED]: train_comir.py exited with code ${code}`);
          process.exitCode = code;
          return;
        }
      }
      if (opts.windowDescriptor !== false) {
        const code = await runTrainDescriptor(opts);
        if (code !== 0) {
          console.error(`error [TRAINING_FAILED]: train_window_descriptor.py exited with code ${code}`);
          process.exitCode = code;
          return;
        }
      }
      // the search defaults chosen on the held-out pairs, by the product's own search (docs/adr/0025); generated
      // --smoke pairs have no files to search
      if (opts.evaluate === false) return;
      if (opts.smoke) {
        console.log('no search evaluation with --smoke (its generated pairs are not on disk)');
        return;
      }
      try {
        await runEvaluation(opts);
      } catch (e) {
        // the model is trained and written; a pair set too small to evaluate (one held-out pair) only loses the choice
        if (!(e instanceof BadUserInputError)) throw e;
        console.error(`warning: no search evaluation, so the manifest declares no search defaults: ${e.message}`);
      }
    });
}
