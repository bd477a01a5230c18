/**
 * Issue 19 ("Secure and robust"), crash tests: kill -9 the server during an ingest batch, a vocabulary build and an
 * upload; after restart every image is complete or absent and every job is finished, failed with a reason, or resumed.
 * (Whole-slide tiling killed midway: wsi-crash.test.ts.)
 *
 * Each case runs cmir in a child process on a home of its own (the embedded database in it, or, in the postgres
 * project, a fresh database of the test server), kills it with SIGKILL at a chosen moment, then opens the same home
 * again here, as `cmir serve` would after the crash, and checks what must hold whatever the exact moment:
 *   - every Image row has its file in the file store (right sha256 and size), and so has every Representation row;
 *     the store holds nothing else: no file without a row, no temporary file (start-up removes what the dead process
 *     left: at once on the embedded database; on a shared Postgres once older than SHARED_SWEEP_GRACE_MS, which the
 *     test does not wait for but runs that sweep itself);
 *   - every image has its whole set of first-stage vectors (the same number as every other image of its size), none
 *     has a part of it;
 *   - an interrupted job is FAILED with a reason (at start-up on the embedded database, whose lock says the dead
 *     process was its only user; on a shared Postgres once the job's heartbeat is stale), and the work can be done
 *     again.
 * On a Postgres server an upload's ingestion is a queued job (docs/adr/0027): killed, its file stays for the job's next
 * attempt, which sending the file again joins; the image is then stored once.
 * The moments: the batch is killed as soon as the CLI has printed two stored files (so while it works on the third,
 * anywhere in it); the vocabulary build and the upload are frozen at their worst moment by the child (after the
 * build stored a histogram under its new version; after the upload's file and CoMIR are in the store and its rows are
 * written, before they commit) and killed there.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { sha256File, sha256Hex } from '../../src/db/file-store.ts';
import { DuplicateImageError } from '../../src/errors.ts';
import { freshServerDatabase, TEST_BACKEND } from '../helpers/app.ts';
import { REPO_ROOT } from '../helpers/comir.ts';
import { makeImage } from '../helpers/images.ts';

const CHILD = path.join(REPO_ROOT, 'test', 'helpers', 'crash-child.ts');
const CMIR = path.join(REPO_ROOT, 'bin', 'cmir.js');
const MODELS = path.join(REPO_ROOT, 'models');

/** A home for one case: a temporary folder, plus a fresh database of the test server in the postgres project. */
interface Home {
  dir: string;
  databaseUrl: string | undefined;
  env: NodeJS.ProcessEnv;
  /** `overrides`: of the configuration (a short heartbeat, so that a killed process's job is seen stale soon). */
  open(overrides?: Partial<Config>): Promise<App>;
  /** Opens the home as `cmir serve` would after the crash (and, on Postgres, once the sweep's grace has passed). */
  restart(): Promise<App>;
  remove(): Promise<void>;
}

const homes: Home[] = [];
beforeAll(async () => {
  if (TEST_BACKEND === 'pglite') await embeddedTemplate();
});
afterAll(async () => {
  for (const h of homes) await h.remove();
});

/**
 * An embedded database created and migrated once, copied into each case's home: creating one takes PGlite's initdb,
 * 10 to 16 s on two loaded cores, against half a second to copy its 40 MB (it is closed, so the copy is whole).
 */
let template: Promise<string> | undefined;
function embeddedTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-crash-template-'));
    homes.push({ dir, remove: () => rm(dir, { recursive: true, force: true }) } as Home);
    const app = await createApp({ ...loadConfig({ home: dir }, {}), modelsDir: MODELS });
    await app.close();
    return path.join(dir, 'db');
  })();
  return template;
}

async function newHome(): Promise<Home> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-crash-'));
  if (TEST_BACKEND === 'pglite') await cp(await embeddedTemplate(), path.join(dir, 'db'), { recursive: true });
  const server = TEST_BACKEND === 'postgres' ? await freshServerDatabase(process.env.CMIR_TEST_DATABASE_URL!) : undefined;
  const home: Home = {
    dir,
    databaseUrl: server?.url,
    env: { ...process.env, CMIR_HOME: dir, DATABASE_URL: server?.url ?? '', CMIR_MODELS_DIR: MODELS },
    open: (overrides = {}) => createApp({ ...loadConfig({ home: dir }, {}), databaseUrl: server?.url, modelsDir: MODELS, ...overrides }),
    async restart() {
      const app = await home.open();
      // On a shared Postgres the start-up sweep spares files younger than SHARED_SWEEP_GRACE_MS (another process may
      // be between storing a file and committing its row); here it runs as a start-up after that time would.
      if (app.db.kind === 'postgres') await app.services.images.sweepFiles(0);
      return app;
    },
    async remove() {
      await server?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  homes.push(home);
  return home;
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  stderr: string;
  /** The line on which the child was killed. */
  killedOn: string | null;
}

/**
 * Runs `node <args>` on a home and kills it (SIGKILL) at the first stdout line for which `killOn` is true (`onLine`
 * sees each line first: the child may be frozen there while it looks).
 */
function runAndKill(home: Home, args: string[], killOn: (line: string) => boolean | Promise<boolean>): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: home.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { code: null, signal: null, lines: [], stderr: '', killedOn: null };
    let buffered = '';
    let chain = Promise.resolve();
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        run.lines.push(line);
        chain = chain.then(async () => {
          if (run.killedOn === null && (await killOn(line))) {
            run.killedOn = line;
            child.kill('SIGKILL');
          }
        }).catch(reject);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => void chain.then(() => resolve({ ...run, code, signal })));
  });
}

/** The child's JSON events (other lines, a library's warnings, are left out). */
function events(run: ChildRun): Record<string, unknown>[] {
  return run.lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

function expectKilled(run: ChildRun) {
  expect(run.signal, `the child was not killed (exit ${run.code}); stdout:\n${run.lines.join('\n')}\nstderr:\n${run.stderr}`).toBe('SIGKILL');
  expect(run.killedOn).not.toBeNull();
}

/** Every file of the home's file store, by name (the checksum, or a temporary name). */
async function storedFiles(home: Home): Promise<string[]> {
  const entries = await readdir(path.join(home.dir, 'files'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
}

/**
 * The invariants after a crash: rows and files agree, and every image is indexed wholly. Returns the images.
 * `windows`: how many first-stage vectors each image of the case has (all are of one size).
 */
async function expectConsistent(app: App, home: Home, windows?: number) {
  const images = await app.db.prisma.image.findMany({ orderBy: { id: 'asc' } });
  const reprs = await app.db.prisma.representation.findMany();
  const tiles = await app.db.prisma.tile.findMany({ select: { sha256: true } });
  const store = path.join(home.dir, 'files');
  for (const image of images) {
    const file = path.join(store, image.sha256.slice(0, 2), image.sha256);
    expect((await stat(file)).size, `image ${image.id}'s file`).toBe(image.byteSize);
    expect(await sha256File(file)).toBe(image.sha256);
  }
  for (const r of reprs) expect(await sha256File(path.join(store, r.sha256.slice(0, 2), r.sha256)), `representation of image ${r.imageId}`).toBe(r.sha256);
  // the store holds exactly the referenced files: no file without its row, nothing half-written (*.tmp)
  const referenced = [...new Set([...images.map((i) => i.sha256), ...reprs.map((r) => r.sha256), ...tiles.map((t) => t.sha256)])].sort();
  expect(await storedFiles(home)).toEqual(referenced);
  // every image has its whole set of vectors: one count, the same for every image of the case
  const counts = await app.db.prisma.embedding.groupBy({ by: ['imageId'], _count: { _all: true } });
  const byImage = new Map(counts.map((c) => [c.imageId, c._count._all]));
  for (const image of images) {
    expect(byImage.get(image.id) ?? 0, `vectors of image ${image.id}`).toBeGreaterThan(0);
    if (windows !== undefined) expect(byImage.get(image.id), `vectors of image ${image.id}`).toBe(windows);
  }
  expect([...byImage.keys()].every((id) => images.some((i) => i.id === id))).toBe(true);
  return images;
}

describe('killed with SIGKILL (issue 19)', () => {
  let app: App | undefined;
  afterAll(async () => {
    await app?.close();
  });

  test('an ingest batch (cmir ingest of a folder): what it stored is whole, the rest is absent, and running it again completes it without duplicates', { timeout: 180_000 }, async () => {
    const home = await newHome();
    const folder = path.join(home.dir, 'batch');
    await mkdir(folder);
    const N = 6;
    const files = Array.from({ length: N }, (_, i) => path.join(folder, `b${i}.png`));
    for (const [i, f] of files.entries()) await writeFile(f, await makeImage({ width: 192, height: 128, seed: 60 + i }));
    const ingest = [CMIR, 'ingest', folder, '--modality', 'SHG', '--home', home.dir];
    // SHG: the shipped shg-bf model gives every image a CoMIR file too
    let printed = 0;
    const run = await runAndKill(home, ingest, (line) => /: ingested /.test(line) && ++printed >= 2);
    expectKilled(run);
    const stored = run.lines.filter((l) => /: ingested /.test(l));
    expect(stored.length).toBeGreaterThanOrEqual(2);
    expect(stored.length).toBeLessThan(N);

    // restart: the rows are those printed, and perhaps the one it was storing when killed (committed, not printed)
    app = await home.restart();
    const images = await expectConsistent(app, home);
    expect(images.length).toBeGreaterThanOrEqual(stored.length);
    expect(images.length).toBeLessThanOrEqual(stored.length + 1);
    expect(images.map((i) => i.name).slice(0, stored.length)).toEqual(stored.map((l) => path.basename(l.split(':')[0], '.png')));
    const windows = (await app.db.prisma.embedding.count({ where: { imageId: images[0].id } }));
    await expectConsistent(app, home, windows);
    const before = images.map((i) => i.id);

    // the same batch again, as `cmir ingest` runs it (ImageService.ingestFile per file): each file is stored, or
    // refused as already stored (the CLI prints "skipped"); none twice
    const outcomes: string[] = [];
    for (const file of files) {
      try {
        await app.services.images.ingestFile(file, { modality: 'SHG' });
        outcomes.push('ingested');
      } catch (e) {
        if (!(e instanceof DuplicateImageError)) throw e;
        outcomes.push('duplicate');
      }
    }
    expect(outcomes).toEqual(files.map((_, i) => (i < before.length ? 'duplicate' : 'ingested')));
    const all = await expectConsistent(app, home, windows);
    expect(all.map((i) => i.name)).toEqual(files.map((f) => path.basename(f, '.png')));
    expect(all.slice(0, before.length).map((i) => i.id)).toEqual(before);
    expect(await app.db.prisma.representation.count()).toBe(N);
    await app.close();
    app = undefined;
  });

  test('a vocabulary build: its job ends FAILED with a reason, its half-indexed version is not used, and a new build completes', { timeout: 180_000 }, async () => {
    const home = await newHome();
    const run = await runAndKill(home, ['--import', 'tsx', CHILD, 'vocabulary', home.dir, '4'], (line) => line.includes('"indexing"'));
    expectKilled(run);
    expect(events(run).some((e) => e.event === 'done')).toBe(false);

    app = await home.restart();
    const [killed] = await app.db.prisma.job.findMany({ where: { kind: 'vocabulary.build' } });
    const states = async () => (await app!.services.vocabularies.list('TEX')).map((v) => v.state);
    if (app.db.kind === 'postgres') {
      // a shared server: another process's job (and so its version) may still be alive until its heartbeat has
      // stopped for four intervals (60 s); the test makes the heartbeat that old rather than wait
      expect(killed.state).toBe('RUNNING');
      expect(await states()).toEqual(['indexing']);
      await app.db.prisma.job.update({ where: { id: killed.id }, data: { heartbeatAt: new Date(Date.now() - 61_000) } });
    } else {
      // the embedded database's lock says the dead process was its only user: failed at start-up, job and version
      expect(killed).toMatchObject({ state: 'FAILED', error: expect.stringMatching(/^interrupted/) });
      expect(await states()).toEqual(['failed']);
    }
    expect(await app.services.jobs.get(killed.id)).toMatchObject({ state: 'FAILED', error: expect.stringMatching(/^interrupted/), finishedAt: expect.any(Date) });
    await expectConsistent(app, home);

    const job = await app.services.vocabularies.build('TEX', { size: 50, seed: 1 });
    expect(await app.services.jobs.wait(job.id)).toMatchObject({ state: 'SUCCEEDED' });
    // the killed build's version is failed (ingestion no longer encodes under it), the new one is searched
    const versions = await app.services.vocabularies.list('TEX');
    expect(versions.map((v) => v.state)).toEqual(['failed', 'ready']);
    const ready = versions[1];
    expect(await app.db.prisma.histogram.count({ where: { vocabularyId: ready.id } })).toBe(4);
    // an image ingested now is encoded under the ready version only
    const image = await app.services.images.ingest({ data: await makeImage({ width: 96, height: 96, seed: 200 }), fileName: 'late.png', modality: 'TEX' });
    expect((await app.db.prisma.histogram.findMany({ where: { imageId: image.id } })).map((h) => h.vocabularyId)).toEqual([ready.id]);
    // no job is left unfinished
    expect(await app.db.prisma.job.count({ where: { state: { in: ['QUEUED', 'RUNNING'] } } })).toBe(0);
    await app.close();
    app = undefined;
  });

  test('an upload over HTTP killed before its rows commit leaves no half image (embedded: nothing; Postgres: its queued job, which completes once), and can be sent again', { timeout: 180_000 }, async () => {
    const home = await newHome();
    const png = await makeImage({ width: 256, height: 192, bitDepth: 16, seed: 77 });
    let upload: Promise<unknown> | undefined;
    let held: string[] = [];
    const run = await runAndKill(home, ['--import', 'tsx', CHILD, 'serve', home.dir], async (line) => {
      const e = (() => {
        try {
          return JSON.parse(line) as Record<string, string>;
        } catch {
          return {};
        }
      })();
      if (e.event === 'listening') {
        const form = new FormData();
        form.set('operations', JSON.stringify({ query: 'mutation($file: Upload!) { ingestImage(input: { file: $file, modality: "SHG" }) { id } }', variables: { file: null } }));
        form.set('map', JSON.stringify({ 0: ['variables.file'] }));
        form.set('0', new Blob([new Uint8Array(png)]), 'upload.png');
        upload = fetch(e.url, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${e.key}` } }).catch((err: Error) => err);
        return false;
      }
      if (e.event === 'commit-held') {
        held = await storedFiles(home); // the child is frozen: this is the store at the moment of the kill
        return true;
      }
      return false;
    });
    expectKilled(run);
    expect(JSON.parse(run.killedOn!)).toMatchObject({ event: 'commit-held' });
    // the moment was the worst one: the upload and its CoMIR were in the store, their rows not yet committed
    expect(held.filter((f) => !f.endsWith('.tmp'))).toHaveLength(2);
    expect(await upload).toBeInstanceOf(Error); // the client saw the connection drop, no answer

    if (TEST_BACKEND === 'postgres') {
      // A shared server: the upload's ingestion was a queued job (docs/adr/0027), which outlives the process. Its file
      // stays (the job, handed back once its heartbeat is stale, reads it); the CoMIR the attempt stored is an orphan,
      // removed by a start-up sweep after the grace period; sending the file again joins the job, which runs again and
      // stores the image once. A 300 ms heartbeat here: the killed process's job is stale after 1.2 s.
      app = await home.open({ jobHeartbeatMs: 300 });
      const upload = sha256Hex(png);
      expect(held.filter((f) => !f.endsWith('.tmp')).sort()).toEqual(await storedFiles(home));
      expect(held).toContain(upload);
      const job = await app.db.prisma.job.findFirstOrThrow({ where: { kind: 'image.ingest' } });
      expect(job).toMatchObject({ state: 'RUNNING', attempts: 1 });
      expect((await app.services.images.sweepFiles(0)).map((f) => path.basename(f))).toEqual(held.filter((f) => !f.endsWith('.tmp') && f !== upload));
      expect(await storedFiles(home)).toEqual([upload]);
      expect(await app.db.prisma.image.count()).toBe(0);
      await new Promise((r) => setTimeout(r, 1500));
      const image = await app.services.images.ingest({ data: png, fileName: 'upload.png', modality: 'SHG' });
      const [again] = await expectConsistent(app, home);
      expect(again.id).toBe(image.id);
      expect(await storedFiles(home)).toHaveLength(2);
      expect(await app.db.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ state: 'SUCCEEDED', attempts: 2, result: { imageId: image.id } });
      await app.close();
      app = undefined;
      return;
    }
    app = await home.open();
    expect(await app.db.prisma.image.count()).toBe(0);
    await expectConsistent(app, home);
    expect(await storedFiles(home)).toEqual([]);

    // the same file again is stored whole
    const image = await app.services.images.ingest({ data: png, fileName: 'upload.png', modality: 'SHG' });
    const [again] = await expectConsistent(app, home);
    expect(again.id).toBe(image.id);
    expect(await storedFiles(home)).toHaveLength(2);
    await app.close();
    app = undefined;
  });
});
