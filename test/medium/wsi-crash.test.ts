/**
 * A tiling job killed midway (kill -9) goes on where it stopped: a child process ingests a slide on the embedded
 * database in its own home and is killed once tiles are stored; the home is then opened again here, the PENDING slide's
 * tiling resumed, and its tiles and first-stage windows compared with those of the same slide tiled uninterrupted in a
 * fresh home.
 *
 * Always on the embedded database (PGlite in a folder): what a kill -9 does to it is part of what is tested. So the
 * file runs in the pglite project only (the postgres project would repeat the same run).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { sha256File } from '../../src/db/file-store.ts';
import { planTiles } from '../../src/pipeline/decode/tiling.ts';
import { createTestApp, TEST_BACKEND } from '../helpers/app.ts';
import { REPO_ROOT } from '../helpers/comir.ts';
import { type Blob, makeSlide } from '../helpers/slides.ts';

/** 8192 x 6144 at 0.5 um/px: 2048 x 1536 working pixels at 2 um, 3 x 2 tiles; tissue in five of the six owned squares. */
const W = 8192, H = 6144;
const BLOBS: Blob[] = [
  { cx: 1500, cy: 1500, r: 1100 },
  { cx: 4600, cy: 1500, r: 1100 },
  { cx: 7100, cy: 1500, r: 800 },
  { cx: 1500, cy: 4600, r: 1100 },
  { cx: 4600, cy: 4600, r: 1100 },
];
const CHILD = path.join(REPO_ROOT, 'test', 'helpers', 'wsi-crash-child.ts');

let dir: string;
let file: string;
/** The same slide tiled uninterrupted in a fresh home. */
let reference: { tiles: { x: number; y: number; sha256: string }[]; windows: string[]; imageId: number };

async function tilesOf(app: App, imageId: number) {
  return (await app.db.prisma.tile.findMany({ where: { imageId }, select: { x: true, y: true, width: true, height: true, sha256: true } }))
    .map((t) => ({ x: t.x, y: t.y, sha256: t.sha256 }))
    .sort((a, b) => a.y - b.y || a.x - b.x);
}

/** Every first-stage window of an image as "x,y,side,workingSide", sorted (a multiset: duplicates show). */
async function windowsOf(app: App, imageId: number): Promise<string[]> {
  const rows = await app.db.prisma.embedding.findMany({ where: { imageId }, select: { x: true, y: true, side: true, workingSide: true } });
  return rows.map((r) => `${r.x},${r.y},${r.side},${r.workingSide}`).sort();
}

beforeAll(async () => {
  if (TEST_BACKEND === 'postgres') return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-wsi-crash-'));
  file = path.join(dir, 'slide.tif');
  await makeSlide(file, W, H, 404, BLOBS, { micronsPerPixel: 0.5 });
  const app = await createTestApp({ modelsDir: path.join(REPO_ROOT, 'models') });
  try {
    const { image, jobId } = await app.services.wsi.ingest({ file, modality: 'BF' });
    expect((await app.services.jobs.wait(jobId)).state).toBe('SUCCEEDED');
    reference = { tiles: await tilesOf(app, image.id), windows: await windowsOf(app, image.id), imageId: image.id };
  } finally {
    await app.close();
  }
  // the slide is cut into more tiles than one, and not all of them are tissue
  expect(planTiles(W, H, 0.25)).toHaveLength(6);
  expect(reference.tiles).toHaveLength(5);
}, 600_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: Record<string, unknown>[];
  stderr: string;
  /** Tiles the child had reported stored when it was killed. */
  killedAt: number | null;
}

/** Runs the child on `home` and kills it (SIGKILL) as soon as it reports `atTiles` stored tiles. */
function runAndKill(home: string, atTiles: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, home, file], {
      cwd: REPO_ROOT,
      env: { ...process.env, CMIR_HOME: home, DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: ChildRun = { code: null, signal: null, events: [], stderr: '', killedAt: null };
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // a warning of a library
        }
        run.events.push(event);
        if (event.event === 'tiles' && (event.n as number) >= atTiles && run.killedAt === null) {
          run.killedAt = event.n as number;
          child.kill('SIGKILL');
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ ...run, code, signal }));
  });
}

describe.skipIf(TEST_BACKEND === 'postgres')('a tiling job killed with SIGKILL', () => {
  let home: string;
  let app: App | undefined;
  afterAll(async () => {
    await app?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  test('resumes on the reopened embedded database and ends with exactly the tiles and windows of an uninterrupted one', { timeout: 900_000 }, async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'cmir-wsi-crash-home-'));
    const run = await runAndKill(home, 1);
    expect(run.events.some((e) => e.event === 'done'), `the child finished before it could be killed; stderr: ${run.stderr}`).toBe(false);
    expect(run.signal, `child exit ${run.code}; stderr: ${run.stderr}`).toBe('SIGKILL');
    expect(run.killedAt).toBeGreaterThanOrEqual(1);
    const ingested = run.events.find((e) => e.event === 'ingested')!;
    expect(ingested).toBeDefined();
    const imageId = ingested.imageId as number, killedJob = ingested.jobId as number;
    // the dead process's lock file is still there; the next process takes it over
    expect(existsSync(path.join(home, 'cmir.lock'))).toBe(true);
    expect((await readFile(path.join(home, 'cmir.lock'), 'utf8')).trim()).toBe(String(ingested.pid));

    // the same home, reopened (as `cmir serve` would after the crash)
    app = await createApp({ ...loadConfig({ home }, {}), modelsDir: path.join(REPO_ROOT, 'models') });
    const image = await app.db.prisma.image.findUniqueOrThrow({ where: { id: imageId } });
    expect(image.tilingState).toBe('PENDING');
    expect(image.sha256).toBe(await sha256File(file));
    // the killed job is an orphan: failed at start-up
    expect(await app.services.jobs.get(killedJob)).toMatchObject({ state: 'FAILED', error: expect.stringMatching(/interrupted/) });
    const survived = await tilesOf(app, imageId);
    const survivedIds = (await app.db.prisma.tile.findMany({ where: { imageId }, select: { id: true } })).map((t) => t.id);
    expect(survived.length).toBeGreaterThanOrEqual(run.killedAt!);
    expect(survived.length).toBeLessThan(reference.tiles.length);
    // every tile that survived has its windows (tile and windows are written in one transaction)
    const survivedWindows = await windowsOf(app, imageId);
    expect(survivedWindows.length).toBeGreaterThan(0);
    expect(survivedWindows.length).toBeLessThan(reference.windows.length);

    const jobs = await app.services.wsi.resumePending();
    expect(jobs).toHaveLength(1);
    const job = await app.services.jobs.wait(jobs[0]);
    expect(job).toMatchObject({ kind: 'slide.tile', state: 'SUCCEEDED' });
    expect(job.result).toMatchObject({ tiles: reference.tiles.length, of: 6 });
    expect((await app.db.prisma.image.findUniqueOrThrow({ where: { id: imageId } })).tilingState).toBe('DONE');

    // exactly the tiles of the uninterrupted run: same boxes, same CoMIRs
    const tiles = await tilesOf(app, imageId);
    expect(tiles.length).toBe(reference.tiles.length);
    expect(tiles.map((t) => [t.x, t.y])).toEqual(reference.tiles.map((t) => [t.x, t.y]));
    expect(tiles.map((t) => t.sha256)).toEqual(reference.tiles.map((t) => t.sha256));
    // the tiles kept from before the crash were kept (same rows), not computed again
    for (const s of survived) expect(tiles.find((t) => t.x === s.x && t.y === s.y)!.sha256).toBe(s.sha256);
    expect(await app.db.prisma.tile.count({ where: { id: { in: survivedIds } } })).toBe(survivedIds.length);
    // no (image, x, y) twice
    const dupes = await app.db.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM (SELECT 1 FROM "Tile" WHERE "imageId" = ${imageId} GROUP BY "imageId", x, y HAVING count(*) > 1) d`;
    expect(dupes[0].n).toBe(0);
    // exactly the windows of the uninterrupted run, none twice
    const windows = await windowsOf(app, imageId);
    expect(windows.length).toBe(reference.windows.length);
    expect(windows).toEqual(reference.windows);
    expect(new Set(windows).size).toBe(windows.length);

    // nothing is left pending, and the file store holds the slide and its tiles' CoMIRs, nothing else
    expect(await app.services.wsi.resumePending()).toEqual([]);
    const stored = (await readdir(path.join(home, 'files'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
    expect(stored).toEqual([image.sha256, ...tiles.map((t) => t.sha256)].sort());
  });
});
