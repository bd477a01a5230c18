/**
 * What `cmir train` needs from Python, checked before any training starts (issue 23): an interpreter that imports
 * torch, numpy, PIL and tifffile (training/comir/*.py). Each missing module is named with the Debian package that
 * provides it (../shared/guide/stack.md: Debian's /usr/bin/python3, not the pyenv python3 first on PATH).
 */
import { spawnSync } from 'node:child_process';
import { PrerequisitesMissingError } from '../errors.ts';

/** Debian's interpreter: the pyenv python3 first on PATH has no torch (../shared/guide/stack.md). */
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** The modules the trainers import, each with its Debian package (Debian 12: packages.debian.org/bookworm). */
export const TRAINING_MODULES = [
  { module: 'torch', debian: 'python3-torch' },
  { module: 'numpy', debian: 'python3-numpy' },
  { module: 'PIL', debian: 'python3-pil' },
  { module: 'tifffile', debian: 'python3-tifffile' },
] as const;

export type TrainingModule = (typeof TRAINING_MODULES)[number];

export interface TrainingPythonCheck {
  python: string;
  /** The modules that failed to import (empty when the interpreter has them all). */
  missing: TrainingModule[];
  /** Set when the interpreter itself could not run the check (not found, not executable, no JSON answer). */
  failure?: string;
}

/**
 * 120 s: importing Debian's torch 1.13 takes ~2 s here (2 cores), much longer on a cold disk; a check that outlives
 * this is reported as a failure rather than waited on.
 */
const CHECK_TIMEOUT_MS = 120_000;

/** The interpreter `cmir train` runs: --python, else CMIR_PYTHON, else DEFAULT_PYTHON. */
export function trainingPython(python?: string, env: NodeJS.ProcessEnv = process.env): string {
  return python ?? (env.CMIR_PYTHON || DEFAULT_PYTHON);
}

/**
 * Imports each training module in `python` (a real import, not a lookup: a module that is present but broken fails as
 * it would in training). Synchronous, so a test file can decide at collection time whether to skip.
 */
export function checkTrainingPython(python: string): TrainingPythonCheck {
  const script = [
    'import importlib, json',
    'missing = []',
    `for name in ${JSON.stringify(TRAINING_MODULES.map((m) => m.module))}:`,
    '    try:',
    '        importlib.import_module(name)',
    '    except Exception:',
    '        missing.append(name)',
    'print(json.dumps(missing))',
  ].join('\n');
  const r = spawnSync(python, ['-c', script], { encoding: 'utf8', timeout: CHECK_TIMEOUT_MS });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const failure = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not executable' : code === 'ETIMEDOUT' ? `no answer within ${CHECK_TIMEOUT_MS / 1000} s` : r.error.message;
    return { python, missing: [...TRAINING_MODULES], failure };
  }
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  let names: unknown;
  try {
    names = JSON.parse(last);
  } catch {
    names = undefined;
  }
  if (r.status !== 0 || !Array.isArray(names)) {
    return { python, missing: [...TRAINING_MODULES], failure: `not a working Python 3 (exit code ${r.status ?? r.signal}${r.stderr ? `: ${r.stderr.trim().split('\n').at(-1)}` : ''})` };
  }
  return { python, missing: TRAINING_MODULES.filter((m) => names.includes(m.module)) };
}

/** The check's verdict as one sentence naming what to install; undefined when nothing is missing. */
export function describeMissing(check: TrainingPythonCheck): string | undefined {
  const packages = check.missing.map((m) => m.debian).join(' ');
  const install = `apt-get install -y --no-install-recommends ${packages}`;
  const other = 'or pass --python (CMIR_PYTHON) an interpreter that has them';
  if (check.failure) return `the Python interpreter ${check.python} is ${check.failure}: ${install} (Debian), ${other}`;
  if (check.missing.length === 0) return undefined;
  return `${check.python} cannot import ${check.missing.map((m) => m.module).join(', ')}, which training needs: ${install} (Debian), ${other}`;
}

/** Throws PREREQUISITES_MISSING (naming the Debian packages) unless `python` imports every training module. */
export function requireTrainingPython(python: string): void {
  const check = checkTrainingPython(python);
  const message = describeMissing(check);
  if (message) {
    throw new PrerequisitesMissingError(message, { python, missing: check.missing.map((m) => m.module), packages: check.missing.map((m) => m.debian) });
  }
}
