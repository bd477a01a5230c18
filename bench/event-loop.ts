/**
 * Event-loop delay during an ingest and a search (issue 19 item 4: "never block the event loop with heavy work").
 *
 *   npm run bench:event-loop -- [--images 8] [--queries 4] [--label run] [--postgres URL] [--out event-loop]
 *
 * Ingests `--images` vis-nir NIR photographs (../shared/data/vis-nir or CMIR_DATA_DIR; the shipped vis-nir model) and
 * searches `--queries` RGB photographs against them through the services, in this process, while
 * perf_hooks.monitorEventLoopDelay samples how late the event loop runs (resolution 1 ms). Each phase (ingest, search)
 * has its own histogram: p50 / p99 / max of the delay, and the longest stalls seen by a 1 ms timer.
 * The database is an in-memory PGlite, or with --postgres a new database on that Postgres server (dropped after).
 * Writes bench/results/<out>.json and .md; each run's figures go under its --label, beside the runs already there
 * (--render only rewrites the .md from the .json).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { freshServerDatabase } from '../test/helpers/app.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const IMAGES = Number(arg('images', '8'));
const QUERIES = Number(arg('queries', '4'));
const OUT = arg('out', 'event-loop');
const LABEL = arg('label', 'run');
const POSTGRES = arg('postgres', '');
const DATA = path.join(process.env.CMIR_DATA_DIR ?? path.join(import.meta.dirname, '..', '..', 'shared', 'data'), 'vis-nir');
if (!existsSync(path.join(DATA, 'pairs.csv'))) throw new Error(`no vis-nir data at ${DATA} (set CMIR_DATA_DIR)`);

const r1 = (x: number) => Math.round(x * 10) / 10;
const ms = (ns: number) => r1(ns / 1e6);

/** The test split's pairs, in file order (the same files every run). */
const pairs = (await readFile(path.join(DATA, 'pairs.csv'), 'utf8'))
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','))
  .filter((c) => c[2] === 'test')
  .map((c) => ({ id: c[0]!, rgb: path.join(DATA, c[3]!), nir: path.join(DATA, c[4]!) }));

/** Samples the event loop's delay during `run`: the histogram, and the stalls a 1 ms timer saw (its lateness). */
async function measure<T>(run: () => Promise<T>) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const stalls: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - last > 20) stalls.push(now - last);
    last = now;
  }, 1);
  h.enable();
  const t0 = performance.now();
  const value = await run();
  const seconds = (performance.now() - t0) / 1000;
  h.disable();
  clearInterval(timer);
  stalls.sort((a, b) => b - a);
  return {
    value,
    figures: {
      seconds: r1(seconds),
      p50: ms(h.percentile(50)),
      p99: ms(h.percentile(99)),
      max: ms(h.max),
      mean: ms(h.mean),
      stallsOver20ms: stalls.length,
      stalledSeconds: r1(stalls.reduce((a, b) => a + b, 0) / 1000),
      longestStalls: stalls.slice(0, 5).map(r1),
    },
  };
}

type Figures = Awaited<ReturnType<typeof measure>>['figures'];
interface Run {
  database?: string;
  images: number;
  queries: number;
  machine: { loadAverage: number[] };
  ingest: Figures;
  search: Figures;
  top1: string[];
}

function markdown(all: Record<string, Run>): string {
  const row = (label: string, phase: 'ingest' | 'search', r: Run) => {
    const f = r[phase];
    const share = Math.round((100 * f.stalledSeconds) / f.seconds);
    return `| ${label} | ${r.database ?? 'pglite'} | ${phase} | ${phase === 'ingest' ? r.images : r.queries} | ${f.seconds} | ${f.p99} | ${f.max} | ${f.stallsOver20ms} | ${f.stalledSeconds} (${share} %) | ${f.longestStalls.map(Math.round).join(', ')} | ${r.machine.loadAverage[0]} |`;
  };
  return [
    `# Event-loop delay during an ingest and a search (issue 19 item 4)`,
    '',
    '`npm run bench:event-loop -- --images N --queries M --label L [--postgres URL]`: vis-nir NIR photographs (1024 x 680 JPEG)',
    'ingested with the shipped vis-nir model, then RGB queries searched against them (default search), through the services',
    'in one process; perf_hooks.monitorEventLoopDelay (1 ms resolution) per phase. A stall is a gap of more than 20 ms between',
    'ticks of a 1 ms timer; "stalled" sums them (the share of the phase the event loop could not answer). The histogram has a',
    'sample per tick, so its p99 is mostly of idle ticks: the stalls and the max say more. On a machine with more runnable',
    'threads than cores a stall also counts time the main thread waited for a core. Analysis: docs/adr/0020.',
    '',
    '| run | database | phase | items | seconds | delay p99 ms | max ms | stalls > 20 ms | stalled s | longest stalls ms | load avg |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|',
    ...Object.entries(all).flatMap(([label, r]) => [row(label, 'ingest', r), row(label, 'search', r)]),
    '',
    `Top-1 answers per run (query -> image id): ${Object.entries(all).map(([label, r]) => `${label}: ${r.top1.join(' ')}`).join('; ')}.`,
    '',
  ].join('\n');
}

if (process.argv.includes('--render')) {
  // only rewrites <out>.md from <out>.json
  const dir = path.join(import.meta.dirname, 'results');
  await writeFile(path.resolve(dir, `${OUT}.md`), markdown(JSON.parse(await readFile(path.resolve(dir, `${OUT}.json`), 'utf8'))));
  process.exit(0);
}

const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-event-loop-'));
const server = POSTGRES ? await freshServerDatabase(POSTGRES) : null;
const app = await createApp(loadConfig({ home }, { ...process.env, DATABASE_URL: server?.url ?? '' }), { memory: true });
try {
  // warm-up (model sessions, worker threads, JIT): one image ingested and searched, not measured
  await app.services.images.ingest({ data: await readFile(pairs[IMAGES]!.nir), fileName: 'warm.jpg', modality: 'NIR', noDataValue: 0 });
  await app.services.search.search({ data: await readFile(pairs[IMAGES]!.rgb), modality: 'RGB', target: 'NIR', first: 5 });

  const files = await Promise.all(pairs.slice(0, IMAGES).map(async (p) => ({ ...p, nirData: await readFile(p.nir), rgbData: await readFile(p.rgb) })));
  const ingest = await measure(async () => {
    for (const f of files) await app.services.images.ingest({ data: f.nirData, fileName: `${f.id}.jpg`, modality: 'NIR', noDataValue: 0 });
  });
  const search = await measure(async () => {
    const tops: string[] = [];
    for (const f of files.slice(0, QUERIES)) {
      const r = await app.services.search.search({ data: f.rgbData, modality: 'RGB', target: 'NIR', first: 5 });
      tops.push(`${f.id}->${r.matches[0]?.imageId}`);
    }
    return tops;
  });
  const result = {
    label: LABEL,
    database: server ? 'postgres' : 'pglite',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, loadAverage: os.loadavg().map(r1), node: process.version },
    images: IMAGES,
    queries: QUERIES,
    ingest: ingest.figures,
    search: search.figures,
    top1: search.value,
  };
  console.log(JSON.stringify(result, null, 2));
  const dir = path.join(import.meta.dirname, 'results');
  await mkdir(dir, { recursive: true });
  const jsonFile = path.resolve(dir, `${OUT}.json`);
  const all: Record<string, Run> = existsSync(jsonFile) ? JSON.parse(await readFile(jsonFile, 'utf8')) : {};
  all[LABEL] = result;
  await writeFile(jsonFile, `${JSON.stringify(all, null, 2)}\n`);
  await writeFile(path.resolve(dir, `${OUT}.md`), markdown(all));
} finally {
  await app.close();
  await server?.drop();
  await rm(home, { recursive: true, force: true });
}
