/**
 * Ingestion throughput with 1, 2 and 4 worker processes on one machine (issue 21, docs/adr/0027), and what the queue
 * costs per job.
 *
 *   npm run bench:ingest-scale -- [--images 24] [--side 256] [--workers 1,2,4] [--out ingest-scale]
 *
 * Needs a Postgres server with pgvector: CMIR_BENCH_DATABASE_URL, else DATABASE_URL, else the one
 * scripts/start-postgres.sh starts (postgresql://postgres@127.0.0.1:5433/postgres); each run gets a fresh database
 * (`cmir_bench_<random>`, dropped after). Images: generated BF images (test/helpers/images.ts), so the shipped shg-bf
 * brightfield CoMIR runs on each, as in a lab's ingestion.
 *
 *   - inline: this process ingests the images one after another without the queue (`ingest` as on the embedded
 *     database), CMIR_PIPELINE_THREADS=1: the work itself.
 *   - W workers: W `cmir worker --concurrency 1` processes (CMIR_PIPELINE_THREADS=1 each) are started and ready first;
 *     then this process queues every image (`submit`: file stored, job queued, no work here) and the clock runs from
 *     the first submit to the last job's end.
 * Queue overhead per job, from the 1-worker run's job rows: the median gap between one job's end and the next one's
 * start, plus the median job's run time less the median inline ingestion (the file read back, the row writes). The
 * wall-time difference is reported too, but on a shared machine it moves by more than the overhead between runs.
 * `--render` writes the markdown again from the last JSON.
 * Writes bench/results/<out>.json and <out>.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { freshServerDatabase } from '../test/helpers/app.ts';
import { makeImage } from '../test/helpers/images.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const IMAGES = Number(arg('images', '24'));
const SIDE = Number(arg('side', '256'));
const WORKERS = arg('workers', '1,2,4').split(',').map(Number);
const OUT = arg('out', 'ingest-scale');
const SERVER = process.env.CMIR_BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5433/postgres';
const CMIR = path.join(import.meta.dirname, '..', 'bin', 'cmir.js');

interface Run {
  mode: string;
  workers: number;
  wallMs: number;
  imagesPerSecond: number;
  /** Median of the jobs' own run time (startedAt to finishedAt); inline: of each ingest call. */
  medianJobMs: number;
  /** Jobs that needed more than one attempt (none expected). */
  retried: number;
  /**
   * 1 worker only: median of the gap between a job's end and the next one's start (or its creation, when later): the
   * time the queue itself takes between jobs (completion, LISTEN/NOTIFY or poll, the next attempt's first writes).
   */
  medianGapMs?: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function withDatabase<T>(fn: (url: string, home: string) => Promise<T>): Promise<T> {
  process.env.CMIR_TEST_DB_PREFIX ||= 'cmir_bench_';
  const db = await freshServerDatabase(SERVER);
  const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-ingest-scale-'));
  try {
    return await fn(db.url, home);
  } finally {
    await db.drop().catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

async function inline(images: Buffer[]): Promise<Run> {
  return withDatabase(async (url, home) => {
    const app = await createApp({ ...loadConfig({ home }, {}), databaseUrl: url, pipelineThreads: 1 });
    try {
      app.services.images.queuedIngestion = false;
      const each: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < images.length; i++) {
        const t = performance.now();
        await app.services.images.ingest({ data: images[i], fileName: `i${i}.png`, modality: 'BF' });
        each.push(performance.now() - t);
      }
      const wallMs = performance.now() - t0;
      return { mode: 'inline (no queue)', workers: 0, wallMs, imagesPerSecond: images.length / (wallMs / 1000), medianJobMs: median(each), retried: 0 };
    } finally {
      await app.close();
    }
  });
}

async function withWorkers(images: Buffer[], n: number): Promise<Run> {
  return withDatabase(async (url, home) => {
    // this process registers the models and migrates first, so the workers start on a ready database
    const app = await createApp({ ...loadConfig({ home }, {}), databaseUrl: url, pipelineThreads: 1 });
    const env = { ...process.env, DATABASE_URL: url, CMIR_HOME: home, CMIR_PIPELINE_THREADS: '1', CMIR_FROM_SOURCES: '1', NODE_ENV: 'production' };
    const procs: { child: ChildProcess; ready: Promise<void>; exit: Promise<unknown>; err: string[] }[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const child = spawn(process.execPath, [CMIR, 'worker', '--concurrency', '1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        const err: string[] = [];
        child.stderr!.on('data', (b: Buffer) => err.push(b.toString('utf8')));
        const ready = new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', (b: Buffer) => {
            if (b.toString('utf8').includes('cmir worker')) resolve();
          });
          child.on('exit', (code) => reject(new Error(`a worker exited (${code}) before it was ready: ${err.join('')}`)));
        });
        procs.push({ child, ready, exit: new Promise((r) => child.on('exit', r)), err });
      }
      await Promise.all(procs.map((p) => p.ready));
      const t0 = performance.now();
      const jobs: number[] = [];
      for (let i = 0; i < images.length; i++) jobs.push((await app.services.images.submit({ data: images[i], fileName: `i${i}.png`, modality: 'BF' })).id);
      for (;;) {
        const open = await app.db.prisma.job.count({ where: { id: { in: jobs }, state: { in: ['QUEUED', 'RUNNING'] } } });
        if (open === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const wallMs = performance.now() - t0;
      const rows = await app.db.prisma.job.findMany({ where: { id: { in: jobs } } });
      const failed = rows.filter((r) => r.state !== 'SUCCEEDED');
      if (failed.length > 0) throw new Error(`${failed.length} jobs did not succeed: ${failed[0].error}`);
      return {
        mode: `${n} worker process${n > 1 ? 'es' : ''}`,
        workers: n,
        wallMs,
        imagesPerSecond: images.length / (wallMs / 1000),
        medianJobMs: median(rows.map((r) => r.finishedAt!.getTime() - r.startedAt!.getTime())),
        retried: rows.filter((r) => r.attempts > 1).length,
        ...(n === 1 ? { medianGapMs: median(gaps(rows)) } : {}),
      };
    } finally {
      for (const p of procs) p.child.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exit));
      await app.close();
    }
  });
}

/** One worker's gaps between jobs, in the order it ran them. */
function gaps(rows: { createdAt: Date; startedAt: Date | null; finishedAt: Date | null }[]): number[] {
  const byStart = [...rows].sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
  return byStart.slice(1).map((r, i) => r.startedAt!.getTime() - Math.max(byStart[i].finishedAt!.getTime(), r.createdAt.getTime()));
}

type Result = Awaited<ReturnType<typeof measure>>;

async function measure() {
  const images: Buffer[] = [];
  for (let i = 0; i < IMAGES; i++) images.push(await makeImage({ width: SIDE, height: SIDE, channels: 3, seed: 9000 + i }));
  const runs: Run[] = [];
  runs.push(await inline(images));
  console.log(JSON.stringify(runs.at(-1)));
  for (const n of WORKERS) {
    runs.push(await withWorkers(images, n));
    console.log(JSON.stringify(runs.at(-1)));
  }
  const base = runs.find((r) => r.workers === 1) ?? runs[1];
  // the queue's own cost per job, from the jobs' rows: the gap between jobs and what a job takes beyond the work
  const betweenMs = base?.medianGapMs ?? NaN;
  const insideMs = base ? base.medianJobMs - runs[0].medianJobMs : NaN;
  return {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadAverage: os.loadavg(),
    node: process.version,
    images: IMAGES,
    side: SIDE,
    workers: WORKERS,
    runs,
    queueOverheadMsPerJob: { between: betweenMs, inside: insideMs, total: betweenMs + insideMs, fromWall: base ? (base.wallMs - runs[0].wallMs) / IMAGES : NaN },
    speedup: Object.fromEntries(runs.filter((r) => r.workers > 0).map((r) => [r.workers, r.imagesPerSecond / base!.imagesPerSecond])),
  };
}

function render(result: Result): string {
  const { runs } = result;
  const base = runs.find((r) => r.workers === 1) ?? runs[1];
  const o = result.queueOverheadMsPerJob;
  return [
    `# Ingestion throughput by worker processes (issue 21, docs/adr/0027)`,
    '',
    `\`npm run bench:ingest-scale -- --images ${result.images} --side ${result.side} --workers ${result.workers.join(',')}\`, ${result.date}, ${result.cpus} CPUs (${result.cpuModel}), load average at the end ${result.loadAverage.map((l) => l.toFixed(1)).join(' / ')}, Node ${result.node}. ` +
      `${result.images} generated ${result.side}x${result.side} RGB BF images, each through the shipped shg-bf brightfield CoMIR; Postgres with pgvector (fresh database per run); CMIR_PIPELINE_THREADS=1 in every process.`,
    '',
    '| mode | wall s | images/s | vs 1 worker | median job s | retried |',
    '|---|---:|---:|---:|---:|---:|',
    ...runs.map((r) => `| ${r.mode} | ${(r.wallMs / 1000).toFixed(1)} | ${r.imagesPerSecond.toFixed(2)} | ${r.workers > 0 ? `${(r.imagesPerSecond / base!.imagesPerSecond).toFixed(2)}x` : '-'} | ${(r.medianJobMs / 1000).toFixed(2)} | ${r.retried} |`),
    '',
    `- The queue's overhead per job, from the job rows of the 1-worker run: ${o.between.toFixed(0)} ms between jobs (one job's end to the next one's start, median: completion, pick-up, the next attempt's first writes) + ${o.inside.toFixed(0)} ms inside a job (its median run less the median inline ingestion: the file read back from the store, the job row's writes and NOTIFYs) = ${o.total.toFixed(0)} ms, ${((o.total / runs[0].medianJobMs) * 100).toFixed(0)} % of an inline ingestion (${runs[0].medianJobMs.toFixed(0)} ms).`,
    `- From wall times instead ((1 worker - inline) / images): ${o.fromWall.toFixed(0)} ms. On this shared machine the wall times of two runs minutes apart differ by more than the overhead (the load average was ${result.loadAverage[0].toFixed(0)} on ${result.cpus} cores, from other work), so the row-based figure above is the one to read.`,
    `- Scaling: ${result.cpus} cores bound it at about ${result.cpus}x, and it is less: each job's CoMIR already keeps a core busy, and other work shared the cores; past ${result.cpus} workers the median job time grows as they wait for the cores and throughput falls. Add workers on other machines (docs/deploy.md), not on a full one.`,
    '',
  ].join('\n');
}

async function main() {
  const dir = path.join(import.meta.dirname, 'results');
  // --render: the markdown again from the JSON of the last run (no measurement)
  const result: Result = process.argv.includes('--render') ? JSON.parse(await readFile(path.join(dir, `${OUT}.json`), 'utf8')) : await measure();
  await mkdir(dir, { recursive: true });
  if (!process.argv.includes('--render')) await writeFile(path.join(dir, `${OUT}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const md = render(result);
  await writeFile(path.join(dir, `${OUT}.md`), md);
  console.log(md);
}

await main();
