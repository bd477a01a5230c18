/**
 * CLI start-up (issue 23 item 5: "`cmir --help` <= 1 s"; the issue measured `npx cmir --help` at 12.1 s when every
 * start compiled the TypeScript sources). Runs the CLI as a user does, side by side in one run:
 *   - before: how every start ran before dist/ (docs/adr/0019): the sources through tsx, every command's module and the
 *     whole app imported at start (bench/lib/cli-eager.ts), with tsx's transform cache warm (and once more for --help
 *     with it off, TSX_DISABLE_CACHE=1: a fresh clone's first start);
 *   - sources: bin/cmir.js with CMIR_FROM_SOURCES=1: the sources through tsx, only the command's own module loaded;
 *   - compiled: dist/, built by scripts/build.js (`npm install` runs it; rebuilt here first so it is current).
 * Commands: `cmir --help`; `cmir images` on a home of a few generated images; `cmir search` of a generated SHG query
 * against them, whose start-up is its wall time less the search's own `timings.total` (--json).
 * The modes alternate within each repetition, so both see the same machine load.
 *
 *   npm run bench:cli -- [--reps 5] [--out cli]
 *
 * Writes bench/results/<out>.json and <out>.md. Not a timed test: the machine is shared, so it reports, never asserts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { makeImage } from '../test/helpers/images.ts';

const run = promisify(execFile);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const REPS = Number(arg('reps', '5'));
const OUT = arg('out', 'cli');
const ROOT = path.join(import.meta.dirname, '..');
const CMIR = path.join(ROOT, 'bin', 'cmir.js');

type Mode = 'before' | 'before, tsx cache off' | 'sources' | 'compiled';
const EAGER = ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', 'cli-eager.ts')];
const MODES: Record<Mode, { argv: string[]; env: NodeJS.ProcessEnv }> = {
  before: { argv: EAGER, env: {} },
  'before, tsx cache off': { argv: EAGER, env: { TSX_DISABLE_CACHE: '1' } },
  sources: { argv: [CMIR], env: { CMIR_FROM_SOURCES: '1' } },
  compiled: { argv: [CMIR], env: { CMIR_FROM_SOURCES: '' } },
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r0 = (x: number) => Math.round(x);

async function cmir(mode: Mode, args: string[]): Promise<{ ms: number; stdout: string }> {
  const t = performance.now();
  const { stdout } = await run(process.execPath, [...MODES[mode].argv, ...args], { env: { ...process.env, DATABASE_URL: '', ...MODES[mode].env }, maxBuffer: 1 << 26 });
  return { ms: performance.now() - t, stdout };
}

execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js')], { stdio: 'inherit' });
const dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-bench-cli-'));
try {
  const home = path.join(dir, 'home');
  const files: string[] = [];
  for (let i = 0; i < 4; i++) {
    const f = path.join(dir, `bf${i}.png`);
    await writeFile(f, await makeImage({ seed: 10 + i, width: 256, height: 256 }));
    files.push(f);
  }
  const query = path.join(dir, 'query.png');
  await writeFile(query, await makeImage({ seed: 11, width: 128, height: 128 }));
  await cmir('compiled', ['ingest', ...files, '--modality', 'BF', '--home', home]);

  const commands: { name: string; args: string[]; startup?: (stdout: string, ms: number) => number }[] = [
    { name: 'cmir --help', args: ['--help'] },
    { name: 'cmir images', args: ['images', '--home', home] },
    {
      name: 'cmir search (start-up: wall less timings.total)',
      args: ['search', query, '--modality', 'SHG', '--target', 'BF', '--json', '--home', home],
      startup: (stdout, ms) => ms - (JSON.parse(stdout) as { timings: { total: number } }).timings.total,
    },
  ];
  const samples = new Map<string, number[]>();
  const add = (key: string, v: number) => samples.set(key, [...(samples.get(key) ?? []), v]);
  // one unrecorded round first: tsx's cache and the OS's file cache warm, as on a machine in use
  for (const c of commands) for (const mode of ['before', 'sources', 'compiled'] as const) await cmir(mode, c.args);
  for (let rep = 0; rep < REPS; rep++) {
    for (const c of commands) {
      const modes: Mode[] = rep % 2 ? ['compiled', 'sources', 'before'] : ['before', 'sources', 'compiled'];
      if (c.args[0] === '--help') modes.push('before, tsx cache off');
      for (const mode of modes) {
        const { ms, stdout } = await cmir(mode, c.args);
        add(`${c.name}|${mode}`, c.startup ? c.startup(stdout, ms) : ms);
      }
    }
    console.log(`repetition ${rep + 1}/${REPS} done`);
  }

  // bin/cmir.js runs dist/ only while it is newer than src/: an edit during the run would have measured the sources twice
  const built = statSync(path.join(ROOT, 'dist', 'BUILT')).mtimeMs;
  const edited = readdirSync(path.join(ROOT, 'src'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && statSync(path.join(e.parentPath, e.name)).mtimeMs > built);
  if (edited.length > 0) throw new Error(`src/ changed during the run (${edited[0]!.name}): the "compiled" samples ran the sources; run again`);

  const rows = commands.map((c) => {
    const of = (mode: Mode) => samples.get(`${c.name}|${mode}`);
    const p50 = (mode: Mode) => (of(mode) ? r0(median(of(mode)!)) : null);
    return {
      command: c.name,
      beforeP50: p50('before')!,
      sourcesP50: p50('sources')!,
      compiledP50: p50('compiled')!,
      beforeColdP50: p50('before, tsx cache off'),
      speedup: Math.round((median(of('before')!) / median(of('compiled')!)) * 10) / 10,
      samplesMs: Object.fromEntries((Object.keys(MODES) as Mode[]).filter((m) => of(m)).map((m) => [m, of(m)!.map(r0)])),
    };
  });
  const result = {
    date: new Date().toISOString(),
    reps: REPS,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', loadAverage: os.loadavg().map((x) => Math.round(x * 10) / 10), node: process.version },
    rows,
  };
  const resultsDir = path.join(ROOT, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, `${OUT}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const help = rows[0]!;
  const md = [
    '# CLI start-up: TypeScript sources (tsx) against the compiled dist/ (issue 23 item 5)',
    '',
    `\`npm run bench:cli -- --reps ${REPS}\`, ${result.date}, ${result.machine.cpus} CPUs (${result.machine.model}), load average at the end ${result.machine.loadAverage.join(' / ')}, Node ${process.version}. Home: 4 generated 256x256 BF images (embedded database); query: a generated 128x128 SHG image. Wall time of the process per command, ${REPS} repetitions per mode, modes alternating.`,
    '',
    '| command | before: sources, whole app loaded, p50 ms | sources, command loaded on use, p50 ms | compiled dist/ p50 ms | before / compiled |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.command} | ${r.beforeP50} | ${r.sourcesP50} | ${r.compiledP50} | ${r.speedup}x |`),
    '',
    `- \`cmir --help\` as before with tsx's cache off (a fresh clone's first start): p50 ${help.beforeColdP50} ms.`,
    `- target \`cmir --help\` <= 1,000 ms: ${help.compiledP50 <= 1000 ? 'met' : '**not met**'} (compiled p50 ${help.compiledP50} ms).`,
    '- `images` and `search` still load the whole app (database, ONNX runtime, sharp) and open the embedded database; the compiled build removes only the TypeScript compilation from their start.',
    '',
    'Raw samples (ms) are in the JSON file.',
    '',
  ].join('\n');
  await writeFile(path.join(resultsDir, `${OUT}.md`), md);
  console.log(md);
} finally {
  await rm(dir, { recursive: true, force: true });
}
