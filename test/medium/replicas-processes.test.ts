/**
 * Issue 21's integration test (docs/adr/0027, docs/deploy.md): two API replicas (`cmir serve --no-worker`) and two
 * workers (`cmir worker`) as separate processes on one Postgres database and one shared file store. 40 generated
 * images are ingested through replica A (two with the synchronous `ingestImage`, which waits for the workers; the
 * rest queued with `queueImageIngestion`); one worker is killed with SIGKILL while it runs an ingestion; every image
 * must end indexed exactly once (40 images, 40 jobs SUCCEEDED, each image's vectors written once) and a search through
 * replica B must find each one it is asked for.
 *
 * Small images (128 px, raw modality without CoMIR) keep it under two minutes on 2 cores; workers beat every 1 s
 * (CMIR_JOB_HEARTBEAT_MS), so the killed one counts as stopped after 4 s. The waits are long because CI runs this beside
 * the rest of the suite on 2 cores (one CI run timed out after 60 s waiting for the first 6 ingestions); on a quiet
 * machine it takes about 20 s. Postgres only (CMIR_TEST_DATABASE_URL):
 * the embedded database belongs to one process, and graphile-worker needs a server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { toGlobalId } from '../../src/ids.ts';
import { freshServerDatabase, TEST_BACKEND } from '../helpers/app.ts';
import { CMIR_BIN, freePort } from '../helpers/cli.ts';
import { makeImage } from '../helpers/images.ts';

const IMAGES = 40;
const SYNC = 2;

interface Proc {
  name: string;
  child: ChildProcess;
  out: string[];
  err: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>, procs: Proc[] = [], state: () => Promise<string> = async () => ''): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what} (${ms} ms)${await state().catch((e: Error) => e.message)}; stderr:\n${procs.map((p) => `${p.name}: ${p.err}`).join('\n---\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(TEST_BACKEND !== 'postgres')('2 API replicas + 2 workers on one Postgres (skipped without CMIR_TEST_DATABASE_URL: needs a Postgres server)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  const procs: Proc[] = [];
  let env: NodeJS.ProcessEnv;
  let app: App;
  let folder: string;
  let secret: string;

  const start = (name: string, args: string[]): Proc => {
    // NODE_ENV=production: as a deployment runs it (vitest's `test` changes Apollo's signal handling)
    const child = spawn(process.execPath, [CMIR_BIN, ...args], { env: { ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const p: Proc = { name, child, out: [], err: '', exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))) };
    child.stdout!.on('data', (b: Buffer) => p.out.push(...b.toString('utf8').split('\n').filter(Boolean)));
    child.stderr!.on('data', (b: Buffer) => (p.err += b.toString('utf8')));
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    const db = await freshServerDatabase(process.env.CMIR_TEST_DATABASE_URL!);
    cleanup.push(() => db.drop());
    const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-replicas-'));
    cleanup.push(() => rm(home, { recursive: true, force: true }));
    const noModels = path.join(home, 'no-models');
    folder = path.join(home, 'incoming');
    await mkdir(noModels);
    await mkdir(folder);
    env = {
      ...process.env,
      DATABASE_URL: db.url,
      CMIR_HOME: home,
      CMIR_MODELS_DIR: noModels,
      CMIR_INGEST_ROOTS: folder,
      CMIR_JOB_HEARTBEAT_MS: '1000',
      CMIR_FROM_SOURCES: '1',
      CMIR_PIPELINE_THREADS: '1',
    };
    // this test's own view of the database: it creates the modality and a key, and checks what the processes wrote;
    // it never works the queue (it calls neither work nor wait)
    app = await createApp({ ...loadConfig({ home }, {}), databaseUrl: db.url, modelsDir: noModels });
    cleanup.push(() => app.close());
    cleanup.push(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    });
    await app.services.modalities.create({ name: 'TEX' });
    secret = (await app.services.keys.create('replicas-test', 'curator', { keyId: null, name: 'test' })).secret;
    for (let i = 0; i < IMAGES; i++) await writeFile(path.join(folder, `r${i}.png`), await makeImage({ width: 128, height: 128, seed: 700 + i }));
  }, 120_000);
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  /** The ingestion jobs by state, for a timeout's message. */
  const jobStates = async () => {
    const rows = await app.db.prisma.job.groupBy({ by: ['state'], where: { kind: 'image.ingest' }, _count: { _all: true } });
    return `; ingestion jobs: ${rows.map((r) => `${r.state} ${r._count._all}`).join(', ') || 'none'}`;
  };

  test('ingest 40 through replica A, kill -9 a worker midway: each image indexed exactly once, found through replica B', { timeout: 600_000 }, async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const replicaA = start('replica A', ['serve', '--no-worker', '--port', String(portA)]);
    const replicaB = start('replica B', ['serve', '--no-worker', '--port', String(portB)]);
    const workers = [start('worker 1', ['worker']), start('worker 2', ['worker'])];
    await until('the replicas and workers to start', 120_000, async () =>
      [replicaA, replicaB].every((p) => p.out.some((l) => l.startsWith('cmir serving'))) && workers.every((w) => w.out.some((l) => l.startsWith('cmir worker'))) ? true : undefined, procs);
    expect(replicaA.out.find((l) => l.startsWith('cmir serving'))).toContain('runs no jobs (--no-worker)');

    const gql = async (port: number, query: string, variables: Record<string, unknown> = {}) => {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
      if (body.errors) throw new Error(`${body.errors[0].extensions?.code}: ${body.errors[0].message}`);
      return body.data;
    };
    const file = (i: number) => path.join(folder, `r${i}.png`);

    // the synchronous contract through an API-only replica: it waits while a worker ingests
    for (let i = 0; i < SYNC; i++) {
      const { ingestImage } = await gql(portA, 'mutation($p: String!) { ingestImage(input: { path: $p, modality: "TEX" }) { id name width } }', { p: file(i) });
      expect(ingestImage).toMatchObject({ name: `r${i}`, width: 128 });
    }
    // the rest queued through replica A: each answers at once with its job
    const queued: string[] = [];
    for (let i = SYNC; i < IMAGES; i++) {
      const { queueImageIngestion } = await gql(portA, 'mutation($p: String!) { queueImageIngestion(input: { path: $p, modality: "TEX" }) { id kind state } }', { p: file(i) });
      expect(queueImageIngestion).toMatchObject({ kind: 'image.ingest' });
      queued.push(queueImageIngestion.id);
    }

    // kill -9 the worker running an ingestion, once a few have finished
    const running = await until('a worker to run an ingestion after a few succeeded', 180_000, async () => {
      const done = await app.db.prisma.job.count({ where: { kind: 'image.ingest', state: 'SUCCEEDED' } });
      if (done < SYNC + 4) return undefined;
      return (await app.db.prisma.job.findFirst({ where: { kind: 'image.ingest', state: 'RUNNING', owner: { not: null } } })) ?? undefined;
    }, workers, jobStates);
    const victim = workers.find((w) => w.child.pid === Number(running.owner!.split(':')[1]));
    expect(victim, `the job's owner ${running.owner} is one of the workers`).toBeDefined();
    victim!.child.kill('SIGKILL');
    expect((await victim!.exit).signal).toBe('SIGKILL');
    const survivor = workers.find((w) => w !== victim)!;
    const succeededAtKill = await app.db.prisma.job.count({ where: { kind: 'image.ingest', state: 'SUCCEEDED' } });
    expect(succeededAtKill, 'every ingestion finished before the kill: nothing to retry').toBeLessThan(IMAGES);

    // the survivor hands the killed attempt back and ingests the rest
    await until('every ingestion job to end', 240_000, async () =>
      (await app.db.prisma.job.count({ where: { kind: 'image.ingest', state: { in: ['QUEUED', 'RUNNING'] } } })) === 0 ? true : undefined, [survivor], jobStates);
    const jobs = await app.db.prisma.job.findMany({ where: { kind: 'image.ingest' }, orderBy: { id: 'asc' } });
    expect(jobs.map((j) => j.state)).toEqual(Array(IMAGES).fill('SUCCEEDED'));
    const retried = jobs.find((j) => j.id === running.id)!;
    expect(retried.attempts, 'the killed attempt ran again').toBe(2);
    expect(Number(retried.owner!.split(':')[1])).toBe(survivor.child.pid);

    // exactly once: 40 images, one per file, each with the vectors of one ingestion (no window twice, none missing)
    const images = await app.db.prisma.image.findMany({ orderBy: { id: 'asc' } });
    expect(images.map((i) => i.name).sort()).toEqual(Array.from({ length: IMAGES }, (_, i) => `r${i}`).sort());
    expect(new Set(images.map((i) => i.sha256)).size).toBe(IMAGES);
    expect(new Set(jobs.map((j) => (j.result as { imageId: number }).imageId))).toEqual(new Set(images.map((i) => i.id)));
    const perImage = await app.db.prisma.embedding.groupBy({ by: ['imageId'], _count: { _all: true } });
    expect(perImage).toHaveLength(IMAGES);
    // the same size and no no-data: every image has the same windows, so the same count
    expect(new Set(perImage.map((g) => g._count._all)).size).toBe(1);
    const duplicates = await app.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      'select count(*) as n from (select 1 from "Embedding" group by "imageId", space, x, y, side having count(*) > 1) d',
    );
    expect(Number(duplicates[0].n)).toBe(0);

    // a search through replica B finds them: the file of an image, uploaded as the query, finds that image first
    // (a stored image as the query would leave itself out); AUTO is CORRELATE here (no vocabulary), whose peak is 1
    // for the image itself
    const retriedImage = images.find((i) => i.id === (retried.result as { imageId: number }).imageId)!;
    for (const image of [images[0], images[SYNC], retriedImage, images.at(-1)!]) {
      const form = new FormData();
      form.append('operations', JSON.stringify({
        query: 'query($f: Upload!) { search(input: { file: $f, modality: "TEX", target: "TEX", first: 3 }) { rerank matches { image { id } score } } }',
        variables: { f: null },
      }));
      form.append('map', JSON.stringify({ 0: ['variables.f'] }));
      form.append('0', new Blob([await readFile(file(Number(image.name.slice(1))))], { type: 'image/png' }), `${image.name}.png`);
      const res = await fetch(`http://127.0.0.1:${portB}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'apollo-require-preflight': 'true' }, body: form });
      const body = (await res.json()) as { data?: any; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data.search.matches[0].image.id).toBe(toGlobalId('Image', image.id));
      expect(body.data.search.matches[0].score).toBeCloseTo(1, 3);
    }
    // and B answers job(id) for a job A queued and a worker ran
    const { job } = await gql(portB, 'query($id: ID!) { job(id: $id) { state image { name } } }', { id: queued[0] });
    expect(job).toMatchObject({ state: 'SUCCEEDED', image: { name: `r${SYNC}` } });

    for (const p of [replicaA, replicaB, survivor]) p.child.kill('SIGTERM');
    for (const p of [replicaA, replicaB, survivor]) expect(await p.exit, p.err).toEqual({ code: 0, signal: null });
  });
});
