/**
 * Issue 21, `cmir worker` on a Postgres server (docs/adr/0023): a job queued by one process (this test's) is run by a
 * worker process; kill -9 of the worker that runs it, midway, leaves it to be handed back and retried by the other
 * worker, and every image ends with its first-stage vectors written exactly once (none twice, none half). SIGTERM stops
 * a worker cleanly: past CMIR_SHUTDOWN_GRACE_S its running job is handed back. Both refuse the embedded database.
 *
 * The job is a reindex of 40 generated images whose vectors the test removed: it writes one image per transaction, so
 * it can be killed between any two, or inside one (the transaction dies with the connection). Workers beat every
 * 300 ms (CMIR_JOB_HEARTBEAT_MS), so a killed one counts as stopped after 1.2 s rather than a minute.
 *
 * graphile-worker needs a Postgres server (it cannot run on PGlite): on the embedded database this file is skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { freshServerDatabase, TEST_BACKEND } from '../helpers/app.ts';
import { REPO_ROOT } from '../helpers/comir.ts';
import { makeImage } from '../helpers/images.ts';

const CMIR = path.join(REPO_ROOT, 'bin', 'cmir.js');
const IMAGES = 40;

interface Worker {
  child: ChildProcess;
  out: string[];
  err: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(env: NodeJS.ProcessEnv): Worker {
  const child = spawn(process.execPath, [CMIR, 'worker', '--concurrency', '1'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const w: Worker = {
    child,
    out: [],
    err: '',
    exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.on('data', (b: Buffer) => w.out.push(...b.toString('utf8').split('\n').filter(Boolean)));
  child.stderr!.on('data', (b: Buffer) => (w.err += b.toString('utf8')));
  return w;
}

/** Polls `check` every 50 ms until it returns a value, or fails after `ms` with `what`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>, workers: Worker[] = []): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; workers' stderr:\n${workers.map((w) => w.err).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(TEST_BACKEND !== 'postgres')('cmir worker processes on a Postgres server (skipped on the embedded database: graphile-worker needs a server, CMIR_TEST_DATABASE_URL)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  const workers: Worker[] = [];
  let env: NodeJS.ProcessEnv;
  let app: App;
  /** Each image's number of first-stage vectors, as ingestion wrote them. */
  let reference: Map<number, number>;

  beforeAll(async () => {
    const db = await freshServerDatabase(process.env.CMIR_TEST_DATABASE_URL!);
    cleanup.push(() => db.drop());
    const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-worker-'));
    cleanup.push(() => rm(home, { recursive: true, force: true }));
    const noModels = path.join(home, 'no-models'); // raw modalities: no CoMIR, so the test stays fast
    await mkdir(noModels);
    env = { ...process.env, DATABASE_URL: db.url, CMIR_HOME: home, CMIR_MODELS_DIR: noModels, CMIR_JOB_HEARTBEAT_MS: '300', CMIR_FROM_SOURCES: '1' };
    app = await createApp({ ...loadConfig({ home }, {}), databaseUrl: db.url, modelsDir: noModels, jobHeartbeatMs: 300 });
    cleanup.push(() => app.close());
    cleanup.push(async () => {
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    });
    await app.services.modalities.create({ name: 'TEX' });
    // the images are set up here, inline: ingestion over the queue (docs/adr/0027) would make this process work the
    // queue (it waits for each job), and the reindex below must be left to the workers
    app.services.images.queuedIngestion = false;
    for (let i = 0; i < IMAGES; i++) {
      await app.services.images.ingest({ data: await makeImage({ width: 256, height: 256, seed: 300 + i }), fileName: `t${i}.png`, modality: 'TEX' });
    }
    reference = await vectorsPerImage(app);
    expect(reference.size).toBe(IMAGES);
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  const spawnWorker = (extra: NodeJS.ProcessEnv = {}) => {
    const w = startWorker({ ...env, ...extra });
    workers.push(w);
    return w;
  };
  const started = (ws: Worker[]) =>
    until('the workers to start', 120_000, async () => (ws.every((w) => w.out.some((l) => l.startsWith('cmir worker'))) ? true : undefined), ws);
  const jobRow = (id: number) => app.db.prisma.job.findUniqueOrThrow({ where: { id } });
  /** Queues a reindex of every image, from this process, which does not work the queue (it never calls work or wait). */
  async function queueReindex() {
    await app.db.prisma.embedding.deleteMany({});
    const job = await app.services.embeddings.reindex('TEX');
    expect(job).toMatchObject({ state: 'QUEUED', queued: true, maxAttempts: 3 });
    expect(app.services.jobs.queue.working).toBe(false);
    return job;
  }
  const runningWithProgress = (id: number, ws: Worker[]) =>
    until('the job to be running with progress', 60_000, async () => {
      const row = await jobRow(id);
      return row.state === 'RUNNING' && row.done >= 3 ? row : undefined;
    }, ws);
  const finished = (id: number, ws: Worker[]) =>
    until('the job to finish', 120_000, async () => {
      const row = await jobRow(id);
      return row.state === 'SUCCEEDED' || row.state === 'FAILED' ? row : undefined;
    }, ws);
  const pidOf = (owner: string | null) => Number(owner!.split(':')[1]);

  test('a queued reindex survives kill -9 of its worker: another worker retries it and every image is indexed exactly once', { timeout: 300_000 }, async () => {
    const pair = [spawnWorker(), spawnWorker()];
    await started(pair);
    const job = await queueReindex();

    // kill -9 the worker that runs it, once it has indexed a few images
    const running = await runningWithProgress(job.id, pair);
    expect(running.attempts).toBe(1);
    const victim = pair.find((w) => w.child.pid === pidOf(running.owner));
    expect(victim, `the job's owner ${running.owner} is one of the workers`).toBeDefined();
    const survivor = pair.find((w) => w !== victim)!;
    victim!.child.kill('SIGKILL');
    expect((await victim!.exit).signal).toBe('SIGKILL');
    const indexedBefore = (await vectorsPerImage(app)).size;
    expect(indexedBefore).toBeGreaterThanOrEqual(3);
    expect(indexedBefore, 'the job finished before the kill: nothing to retry').toBeLessThan(IMAGES);

    // the survivor sees the heartbeat stop, hands the job back to the queue and runs it again
    const done = await finished(job.id, [survivor]);
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempts: 2, error: null });
    expect(pidOf(done.owner)).toBe(survivor.child.pid);
    // the retry indexed what the killed attempt had not committed: no image twice
    expect((done.result as { images: number }).images).toBe(IMAGES - indexedBefore);
    // exactly once: every image has exactly its reference vectors, none twice, none half
    expect(await vectorsPerImage(app)).toEqual(reference);
    // and the queue is empty: graphile-worker deletes a job that completed
    expect(await queuedInGraphile(app)).toBe(0);

    // SIGTERM: the idle worker stops cleanly
    survivor.child.kill('SIGTERM');
    expect(await survivor.exit).toEqual({ code: 0, signal: null });
  });

  test('SIGTERM mid-job: past the grace the job is handed back, the worker exits 0, and another worker finishes it', { timeout: 300_000 }, async () => {
    // no grace: the job is handed back at its next progress report (with a grace it may finish first, which is the
    // other allowed outcome, and here a matter of timing)
    const first = spawnWorker({ CMIR_SHUTDOWN_GRACE_S: '0' });
    await started([first]);
    const job = await queueReindex();
    const running = await runningWithProgress(job.id, [first]);
    expect(pidOf(running.owner)).toBe(first.child.pid);
    first.child.kill('SIGTERM');
    expect(await first.exit, first.err).toEqual({ code: 0, signal: null });
    const handedBack = await jobRow(job.id);
    expect(handedBack).toMatchObject({ state: 'QUEUED', attempts: 1, owner: null, error: expect.stringMatching(/handed back/) });
    const indexedBefore = (await vectorsPerImage(app)).size;
    expect(indexedBefore).toBeLessThan(IMAGES);

    const second = spawnWorker();
    const done = await finished(job.id, [second]);
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempts: 2, error: null });
    expect(pidOf(done.owner)).toBe(second.child.pid);
    expect((done.result as { images: number }).images).toBe(IMAGES - indexedBefore);
    expect(await vectorsPerImage(app)).toEqual(reference);
    second.child.kill('SIGTERM');
    expect(await second.exit).toEqual({ code: 0, signal: null });
  });

  test('cmir serve runs queued jobs unless --no-worker, and stops on SIGTERM with exit 0', { timeout: 300_000 }, async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const serve = (args: string[]) => {
      // not NODE_ENV=test (vitest's), under which Apollo leaves the signals alone: as a deployment runs it
      const child = spawn(process.execPath, [CMIR, 'serve', ...args], { cwd: REPO_ROOT, env: { ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
      const w: Worker = { child, out: [], err: '', exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))) };
      child.stdout!.on('data', (b: Buffer) => w.out.push(...b.toString('utf8').split('\n').filter(Boolean)));
      child.stderr!.on('data', (b: Buffer) => (w.err += b.toString('utf8')));
      workers.push(w);
      return w;
    };
    const serving = (w: Worker) => until('the server to serve', 120_000, async () => w.out.find((l) => l.startsWith('cmir serving')), [w]);
    const api = serve(['--no-worker', '--port', String(port)]);
    expect(await serving(api)).toContain('runs no jobs (--no-worker)');
    const job = await queueReindex();
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await jobRow(job.id)).state, 'an API-only replica takes no job').toBe('QUEUED');

    const full = serve(['--port', String(port + 1)]);
    expect(await serving(full)).toContain('runs queued jobs, 1 at a time');
    const done = await finished(job.id, [full]);
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempts: 1 });
    expect(pidOf(done.owner)).toBe(full.child.pid);
    expect(await vectorsPerImage(app)).toEqual(reference);

    const t0 = Date.now();
    for (const w of [api, full]) w.child.kill('SIGTERM');
    for (const w of [api, full]) expect(await w.exit, w.err).toEqual({ code: 0, signal: null });
    // well within the HTTP side's 12 s bound: Apollo's own stop on the signal is seen (src/cli/commands/serve.ts)
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

// the processes are the same on either backend (they refuse before opening a database): run once
describe.skipIf(TEST_BACKEND === 'postgres')('cmir worker and serve --no-worker need a Postgres server', () => {
  test('on the embedded database both refuse with the reason, before opening anything', { timeout: 120_000 }, async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-worker-refused-'));
    try {
      const env = { ...process.env, DATABASE_URL: '', CMIR_HOME: home, CMIR_FROM_SOURCES: '1' };
      const worker = await runToEnd(['worker'], env);
      expect(worker.code).toBe(1);
      expect(worker.stderr).toMatch(/error \[BAD_USER_INPUT\]: cmir worker needs a Postgres server \(DATABASE_URL\)/);
      const serve = await runToEnd(['serve', '--no-worker'], env);
      expect(serve.code).toBe(1);
      expect(serve.stderr).toMatch(/error \[BAD_USER_INPUT\]: --no-worker needs a Postgres server/);
      const zero = await runToEnd(['worker', '--concurrency', '0'], env);
      expect(zero.stderr).toMatch(/positive integer for --concurrency/);
      // nothing was opened: no embedded database in the home
      expect(existsSync(path.join(home, 'db'))).toBe(false);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

function runToEnd(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CMIR, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

async function vectorsPerImage(app: App): Promise<Map<number, number>> {
  const groups = await app.db.prisma.embedding.groupBy({ by: ['imageId'], _count: { _all: true } });
  return new Map(groups.map((g) => [g.imageId, g._count._all]));
}

async function queuedInGraphile(app: App): Promise<number> {
  const rows = await app.db.prisma.$queryRawUnsafe<{ n: bigint }[]>('select count(*) as n from graphile_worker.jobs');
  return Number(rows[0].n);
}
