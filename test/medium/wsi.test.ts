/**
 * Whole-slide images through the services, with the shipped CoMIR models: a synthetic pyramidal slide ingested as BF
 * (row, tiling job, tiles only over tissue, first-stage windows in full-resolution pixels), files that are no
 * whole-slide image, bad input that must leave nothing behind, and a search that places a rotated crop on the slide.
 */
import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { downsample } from '../../src/pipeline/rerank/correlate.ts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Image } from '../../src/db/generated/client.ts';
import { sha256File } from '../../src/db/file-store.ts';
import { planTiles, TILE_STRIDE } from '../../src/pipeline/decode/tiling.ts';
import { type Affine, applyAffine, invertAffine } from '../../src/pipeline/rerank/geometry.ts';
import { warpAffine } from '../../src/pipeline/rerank/warp.ts';
import type { PlanarImage } from '../../src/pipeline/types.ts';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { REPO_ROOT } from '../helpers/comir.ts';
import { makeImage } from '../helpers/images.ts';
import { type Blob, makeSlide } from '../helpers/slides.ts';
import { patchTag } from '../helpers/tiff.ts';

/** The main slide: 6144 x 4608 at 0.5 um/px, i.e. 1536 x 1152 working pixels at the shg-bf model's 2 um: 2 x 2 tiles. */
const W = 6144, H = 4608, MPP = 0.5;
/** Working pixels per slide pixel (0.5 um / 2 um). */
const SCALE = 0.25;
/**
 * Tissue in three of the four owned squares (working 768 px = slide 3072 px): a big blob over the top-left one that
 * reaches into its right and lower neighbours, one blob in the top-right, one in the bottom-left. The bottom-right
 * square (slide x, y >= 3072) is glass only: its nearest blob edge is > 150 slide px away.
 */
const BLOBS: Blob[] = [
  { cx: 1700, cy: 1700, r: 1550 },
  { cx: 4700, cy: 1500, r: 700 },
  { cx: 1200, cy: 3900, r: 450 },
];

let app: TestApp;
let dir: string;
let slideFile: string;
let slideRaw: Buffer;
let slide: Image;
let jobId: number;
/** A second slide of other content, ingested for the search (and deleted at the end). */
let other: Image;

async function storedFiles(): Promise<string[]> {
  const entries = await readdir(path.join(app.home, 'files'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
}

async function state() {
  const p = app.db.prisma;
  return {
    images: await p.image.count(),
    tiles: await p.tile.count(),
    jobs: await p.job.count(),
    embeddings: await p.embedding.count(),
    files: await storedFiles(),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-wsi-'));
  // the shipped models (createTestApp leaves them out by default): BF is the shg-bf pair's brightfield network
  app = await createTestApp({ modelsDir: path.join(REPO_ROOT, 'models') });
  slideFile = path.join(dir, 'slide-a.tif');
  slideRaw = await makeSlide(slideFile, W, H, 101, BLOBS, { micronsPerPixel: MPP });
  const r = await app.services.wsi.ingest({ file: slideFile, modality: 'BF', slide: 'S-A', name: 'slide A' });
  slide = r.image;
  jobId = r.jobId;
  await app.services.jobs.wait(jobId);
}, 300_000);
afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe(`whole-slide ingestion on ${TEST_BACKEND}`, () => {
  test('the row: size, pixel size, pyramid, tiling state; the file stored as it is', async () => {
    const row = await app.db.prisma.image.findUniqueOrThrow({ where: { id: slide.id }, include: { slide: true, modality: true } });
    expect(row).toMatchObject({
      name: 'slide A',
      width: W,
      height: H,
      channels: 3,
      bitDepth: 8,
      format: 'tiff',
      page: 0,
      micronsPerPixel: MPP,
      tilingState: 'DONE',
      tilingError: null,
      byteSize: (await stat(slideFile)).size,
      sha256: await sha256File(slideFile),
    });
    expect(row.slide?.name).toBe('S-A');
    expect(row.modality.name).toBe('BF');
    const pyramid = row.pyramid as { levels: { width: number; downsample: number }[]; micronsPerPixel: number; compression: string; tiled: boolean };
    expect(pyramid).toMatchObject({ micronsPerPixel: MPP, compression: 'jpeg', tiled: true, width: W, height: H });
    expect(pyramid.levels.length).toBeGreaterThanOrEqual(4);
    expect(pyramid.levels.map((l) => l.downsample)).toEqual([...pyramid.levels.map((l) => l.downsample)].sort((a, b) => a - b));
    expect(await storedFiles()).toContain(row.sha256);
  });

  test('the tiling job: SUCCEEDED, tiles over tissue only, its result counts what was written', async () => {
    const job = await app.services.jobs.get(jobId);
    expect(job).toMatchObject({ kind: 'slide.tile', state: 'SUCCEEDED' });
    const plan = planTiles(W, H, SCALE);
    expect(plan).toHaveLength(4);
    const tiles = await app.db.prisma.tile.findMany({ where: { imageId: slide.id } });
    const embeddings = await app.db.prisma.embedding.count({ where: { imageId: slide.id } });
    expect(job.result).toMatchObject({ tiles: tiles.length, of: plan.length, windows: embeddings });
    expect(job.done).toBe(tiles.length);
    // each stored tile is a tile of the plan, found by its source box
    const owned = tiles.map((t) => {
      const p = plan.find((q) => q.source.x === t.x && q.source.y === t.y);
      expect(p, `tile at ${t.x},${t.y}`).toBeDefined();
      expect(t).toMatchObject({ width: p!.source.width, height: p!.source.height, comirWidth: p!.box.width, comirHeight: p!.box.height });
      expect(t.tissue).toBeGreaterThan(0);
      return `${p!.owned.x / TILE_STRIDE},${p!.owned.y / TILE_STRIDE}`;
    });
    // tissue in the top-left, top-right and bottom-left squares; the bottom-right one is glass and gets no tile
    expect(owned.sort()).toEqual(['0,0', '0,1', '1,0']);
    expect(new Set(tiles.map((t) => t.sha256)).size).toBe(tiles.length);
  });

  test("the tiles' CoMIR PNGs have the box's working size", async () => {
    const tiles = await app.db.prisma.tile.findMany({ where: { imageId: slide.id } });
    const files = path.join(app.home, 'files');
    const all = await readdir(files, { recursive: true, withFileTypes: true });
    for (const t of tiles) {
      const entry = all.find((e) => e.isFile() && e.name === t.sha256)!;
      expect(entry).toBeDefined();
      const m = await sharp(path.join(entry.parentPath, entry.name)).metadata();
      expect(m).toMatchObject({ format: 'png', width: t.comirWidth, height: t.comirHeight });
    }
  });

  test('first-stage windows: workingSide set, x, y, side in full-resolution pixels inside the slide, centred on tissue tiles', async () => {
    const rows = await app.db.prisma.embedding.findMany({ where: { imageId: slide.id }, select: { x: true, y: true, side: true, workingSide: true, space: true } });
    expect(rows.length).toBeGreaterThan(0);
    const plan = planTiles(W, H, SCALE);
    const tiles = await app.db.prisma.tile.findMany({ where: { imageId: slide.id } });
    const ownedSquares = tiles.map((t) => plan.find((q) => q.source.x === t.x && q.source.y === t.y)!.owned);
    let outside = 0;
    for (const e of rows) {
      expect(e.workingSide).not.toBeNull();
      expect(Math.abs(e.side - e.workingSide! / SCALE)).toBeLessThanOrEqual(2);
      expect(e.x).toBeGreaterThanOrEqual(0);
      expect(e.y).toBeGreaterThanOrEqual(0);
      expect(e.x + e.side).toBeLessThanOrEqual(W + 2);
      expect(e.y + e.side).toBeLessThanOrEqual(H + 2);
      // the window's centre, in working pixels, lies in the owned square of a stored tile (so never on the glass square)
      const cx = (e.x + e.side / 2) * SCALE, cy = (e.y + e.side / 2) * SCALE;
      if (!ownedSquares.some((o) => cx >= o.x - 1 && cx < o.x + o.width + 1 && cy >= o.y - 1 && cy < o.y + o.height + 1)) outside++;
    }
    expect(outside).toBe(0);
    expect(new Set(rows.map((r) => r.space)).size).toBe(1);
    expect(rows[0].space).toMatch(/^comir:shg-bf@/);
    // windows of several sides (the first stage meets queries of several sizes)
    expect(new Set(rows.map((r) => r.workingSide)).size).toBeGreaterThan(2);
  });

  test("region(): the slide's CoMIR, NaN exactly on the glass square that has no tile", async () => {
    const modality = (await app.services.representations.modalityByName('BF'))!;
    const row = await app.db.prisma.image.findUniqueOrThrow({ where: { id: slide.id } });
    const size = app.services.wsi.workingSize(row, modality);
    expect(size).toEqual({ width: W * SCALE, height: H * SCALE, scale: SCALE });
    const comir = await app.services.wsi.region(row, modality, { x: 0, y: 0, width: size.width, height: size.height });
    let nan = 0, nanOutside = 0;
    for (let y = 0; y < size.height; y++) {
      for (let x = 0; x < size.width; x++) {
        if (!Number.isNaN(comir.data[y * size.width + x])) continue;
        nan++;
        if (x < TILE_STRIDE || y < TILE_STRIDE) nanOutside++;
      }
    }
    expect(nanOutside).toBe(0);
    expect(nan).toBe((size.width - TILE_STRIDE) * (size.height - TILE_STRIDE));
    // values are a CoMIR's (sigmoid outputs)
    const finite = comir.data.filter((v) => !Number.isNaN(v));
    expect(Math.min(...finite.subarray(0, 100_000))).toBeGreaterThanOrEqual(0);
    expect(Math.max(...finite.subarray(0, 100_000))).toBeLessThanOrEqual(1);
  });

  test('regionAt(part, f) equals the downsampled region, on the cached reduced tiles (f = 8, 4, 2) and off them (f = 5)', async () => {
    const modality = (await app.services.representations.modalityByName('BF'))!;
    const row = await app.db.prisma.image.findUniqueOrThrow({ where: { id: slide.id } });
    for (const [f, part] of [[8, { x: 7, y: 3, width: 90, height: 70 }], [4, { x: 40, y: 10, width: 200, height: 150 }], [2, { x: 300, y: 100, width: 300, height: 300 }], [5, { x: 11, y: 9, width: 120, height: 100 }]] as const) {
      const fast = await app.services.wsi.regionAt(row, modality, part, f);
      const slow = downsample(await app.services.wsi.region(row, modality, { x: part.x * f, y: part.y * f, width: part.width * f, height: part.height * f }), f);
      expect([fast.width, fast.height]).toEqual([part.width, part.height]);
      let differ = 0, finite = 0;
      for (let i = 0; i < fast.data.length; i++) {
        const a = fast.data[i], b = slow.data[i];
        if (Number.isNaN(a) !== Number.isNaN(b) || (!Number.isNaN(a) && Math.abs(a - b) > 1e-6)) differ++;
        if (!Number.isNaN(a)) finite++;
      }
      expect(differ).toBe(0);
      expect(finite).toBeGreaterThan(0);
    }
  });
});

describe('what is not a whole-slide image', () => {
  test('detect: null for a small PNG, an untiled TIFF and a tiled TIFF of one level; the pyramid for the slide', async () => {
    const png = path.join(dir, 'small.png');
    await writeFile(png, await makeImage({ width: 300, height: 200, channels: 3, seed: 4 }));
    expect(await app.services.wsi.detect(png)).toBeNull();
    const striped = path.join(dir, 'striped.tif');
    await sharp(await makeImage({ width: 1200, height: 900, channels: 3, seed: 5 })).tiff({ compression: 'lzw', xres: 2000, yres: 2000, resolutionUnit: 'cm' }).toFile(striped);
    expect(await app.services.wsi.detect(striped)).toBeNull();
    const oneLevel = path.join(dir, 'one-level.tif');
    await sharp(await makeImage({ width: 1200, height: 900, channels: 3, seed: 6 })).tiff({ compression: 'lzw', tile: true, tileWidth: 256, tileHeight: 256 }).toFile(oneLevel);
    expect(await app.services.wsi.detect(oneLevel)).toBeNull();
    expect(await app.services.wsi.detect(path.join(dir, 'missing.tif'))).toBeNull();
    const info = await app.services.wsi.detect(slideFile);
    expect(info).toMatchObject({ width: W, height: H, micronsPerPixel: MPP, tiled: true });
  });

  test('ingestFile of a PNG is an ordinary ingestion: no tiling job, no pyramid, no tiles', async () => {
    const png = path.join(dir, 'plain.png');
    const data = await makeImage({ width: 320, height: 240, channels: 3, seed: 7 });
    await writeFile(png, data);
    const { image, tilingJob } = await app.services.images.ingestFile(png, { modality: 'PLAIN' });
    expect(tilingJob).toBeNull();
    expect(image).toMatchObject({ name: 'plain', width: 320, height: 240, channels: 3, format: 'png', byteSize: data.length, pyramid: null, tilingState: null });
    expect(await storedFiles()).toContain(image.sha256);
    expect(await app.db.prisma.tile.count({ where: { imageId: image.id } })).toBe(0);
  });

  test('a thumbnail of the slide is read from its pyramid', async () => {
    const png = await app.services.images.thumbnail(slide.id, 256);
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 256, height: Math.round((256 * H) / W) });
  });

  test('ingestFile routes a pyramid to the whole-slide ingestion (noDataValue is refused for it)', async () => {
    await expect(app.services.images.ingestFile(slideFile, { modality: 'BF', noDataValue: 0 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});

describe('bad input leaves nothing behind', () => {
  /** A small slide (2048 x 1536: one tile) of its own content, so that no two files are the same. */
  async function small(name: string, seed: number, micronsPerPixel: number | null = MPP): Promise<string> {
    const file = path.join(dir, name);
    await makeSlide(file, 2048, 1536, seed, [{ cx: 900, cy: 800, r: 500 }], { micronsPerPixel });
    return file;
  }

  /** Expects `run` to fail with `code` (and a message matching `message`) and the database and file store unchanged. */
  async function refused(run: () => Promise<unknown>, code: string, message?: RegExp) {
    const before = await state();
    const slidesBefore = await app.db.prisma.slide.count();
    let error: unknown;
    try {
      await run();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code });
    if (message) expect((error as Error).message).toMatch(message);
    expect(await state()).toEqual(before);
    expect(await app.db.prisma.slide.count()).toBe(slidesBefore);
  }

  test.each(['wsi', 'ingestFile'] as const)('no pixel size, none declared: BAD_USER_INPUT (%s)', async (via) => {
    const file = await small(`nores-${via}.tif`, via === 'wsi' ? 201 : 202, null);
    const input = { modality: 'BF', slide: 'never' };
    await refused(() => (via === 'wsi' ? app.services.wsi.ingest({ file, ...input }) : app.services.images.ingestFile(file, input)), 'BAD_USER_INPUT', /pixel size|micronsPerPixel/);
  });

  test.each(['wsi', 'ingestFile'] as const)("declared 1.0 um against the file's 0.5 um: BAD_USER_INPUT (%s)", async (via) => {
    const file = await small(`mismatch-${via}.tif`, via === 'wsi' ? 211 : 212);
    const input = { modality: 'BF', slide: 'never', micronsPerPixel: 1.0 };
    await refused(() => (via === 'wsi' ? app.services.wsi.ingest({ file, ...input }) : app.services.images.ingestFile(file, input)), 'BAD_USER_INPUT', /0\.5/);
  });

  test.each(['wsi', 'ingestFile'] as const)('a truncated pyramid (half its bytes): UNSUPPORTED_IMAGE (%s)', async (via) => {
    const whole = await small(`whole-${via}.tif`, via === 'wsi' ? 221 : 222);
    const file = path.join(dir, `truncated-${via}.tif`);
    const bytes = await readFile(whole);
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const input = { modality: 'BF', slide: 'never', micronsPerPixel: MPP };
    await refused(() => (via === 'wsi' ? app.services.wsi.ingest({ file, ...input }) : app.services.images.ingestFile(file, input)), 'UNSUPPORTED_IMAGE');
  });

  test("the full-resolution level's Compression patched to 34892: UNSUPPORTED_IMAGE naming it", async () => {
    const whole = await small('comp-source.tif', 231);
    const file = path.join(dir, 'comp-34892.tif');
    await writeFile(file, patchTag(await readFile(whole), 0, 259, 34892));
    const sha = await sha256File(file);
    try {
      await refused(() => app.services.wsi.ingest({ file, modality: 'BF', slide: 'never' }), 'UNSUPPORTED_IMAGE', /34892/);
    } finally {
      // what the bug lets in is taken out again, so the tests after this one see the repository they expect
      const row = await app.db.prisma.image.findFirst({ where: { sha256: sha } });
      if (row) {
        const jobs = await app.db.prisma.job.findMany({ where: { kind: 'slide.tile' } });
        for (const j of jobs) if ((j.params as { imageId?: number }).imageId === row.id) await app.services.jobs.wait(j.id);
        await app.services.images.delete(row.id);
      }
    }
  });

  test('the same file again (another name): DUPLICATE_IMAGE naming the stored slide', async () => {
    const copy = path.join(dir, 'slide-a-copy.tif');
    await copyFile(slideFile, copy);
    await refused(() => app.services.wsi.ingest({ file: copy, modality: 'BF', slide: 'never' }), 'DUPLICATE_IMAGE');
    await expect(app.services.images.ingestFile(copy, { modality: 'BF' })).rejects.toMatchObject({ code: 'DUPLICATE_IMAGE', existingId: slide.id });
  });

  test.each([
    [{ micronsPerPixel: -1 }, /micronsPerPixel/],
    [{ micronsPerPixel: 0 }, /micronsPerPixel/],
    [{ page: -1 }, /page/],
    [{ modality: 'has space' }, /modality/],
    [{ name: '   ' }, /name/],
  ])('bad parameters %o: BAD_USER_INPUT', async (params, message) => {
    await refused(() => app.services.wsi.ingest({ file: slideFile, modality: 'BF', ...params }), 'BAD_USER_INPUT', message);
  });
});

describe('search: a rotated crop of the slide, same modality', () => {
  /** Slide pixels per query pixel for a query of `um` micrometres per pixel, and the query's side (2048 slide px). */
  const geometry = (um: number) => ({ k: um / MPP, n: Math.round((2048 * MPP) / um) });

  /**
   * Query pixel -> slide pixel: the query's centre ((n-1)/2, (n-1)/2) is slide point (cx, cy); k slide pixels a query
   * pixel, turned by `deg` (y down, as geometry.ts's rigidAbout).
   */
  function truth(cx: number, cy: number, deg: number, um: number): Affine {
    const { k, n } = geometry(um);
    const q = (n - 1) / 2;
    const t = (deg * Math.PI) / 180, c = Math.cos(t), s = Math.sin(t);
    return [k * c, -k * s, cx - k * (c * q - s * q), k * s, k * c, cy - k * (s * q + c * q)];
  }

  /**
   * An n x n query of `um` um/px: the slide's pixels around (cx, cy) reduced k times (Lanczos), then warped so that query
   * pixel q shows slide point truth(q).
   */
  async function query(cx: number, cy: number, deg: number, um: number): Promise<Buffer> {
    const { k, n } = geometry(um);
    const side = 2900, ox = Math.round(cx - side / 2), oy = Math.round(cy - side / 2), ws = side / k;
    const { data } = await sharp(slideRaw, { raw: { width: W, height: H, channels: 3 }, limitInputPixels: false })
      .extract({ left: ox, top: oy, width: side, height: side })
      .resize(ws, ws, { kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const work: PlanarImage = { width: ws, height: ws, channels: 3, data: Float32Array.from(data, (v) => v / 255) };
    // query pixel -> pixel of `work` (its pixel i covers slide pixels ox + k i .. ox + k i + k - 1)
    const t = truth(cx, cy, deg, um), h = (k - 1) / 2;
    const toWork: Affine = [t[0] / k, t[1] / k, (t[2] - ox - h) / k, t[3] / k, t[4] / k, (t[5] - oy - h) / k];
    const q = warpAffine(work, invertAffine(toWork), n, n);
    const bytes = Uint8Array.from(q.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
    return sharp(bytes, { raw: { width: n, height: n, channels: 3 } }).png().toBuffer();
  }

  beforeAll(async () => {
    // a second slide of other content (4096 x 3072: 2 x 1 tiles), so the search has a wrong answer to rank below
    const file = path.join(dir, 'slide-b.tif');
    await makeSlide(file, 4096, 3072, 303, [{ cx: 1500, cy: 1500, r: 1000 }, { cx: 3300, cy: 2000, r: 500 }], { micronsPerPixel: MPP });
    const r = await app.services.wsi.ingest({ file, modality: 'BF', slide: 'S-B' });
    other = r.image;
    expect((await app.services.jobs.wait(r.jobId)).state).toBe('SUCCEEDED');
  }, 300_000);

  test.each([
    // at the working resolution (512 x 512)
    { cx: 1700, cy: 1650, deg: 12, um: 2.0 },
    { cx: 2050, cy: 2000, deg: -8, um: 2.0 },
    // at twice it (1024 x 1024 at 1 um/px): resampled to the working resolution, the transform back in query pixels
    { cx: 1800, cy: 1750, deg: 20, um: 1.0 },
  ])('centre ($cx, $cy) turned $deg degrees at $um um/px: the slide first, placed within 2 % of its side, rotation within 3 degrees', { timeout: 300_000 }, async ({ cx, cy, deg, um }) => {
    const { k, n } = geometry(um);
    const res = await app.services.search.search({ data: await query(cx, cy, deg, um), modality: 'BF', target: 'BF', micronsPerPixel: um, first: 5, rerank: { mode: 'correlate' } });
    expect(res.rerank).toBe('correlate');
    const top = res.matches[0];
    expect(top.imageId).toBe(slide.id);
    // footprint: the query's corners on the slide, in full-resolution slide pixels
    expect(top.footprint).toHaveLength(4);
    const fx = top.footprint!.reduce((s, p) => s + p[0], 0) / 4, fy = top.footprint!.reduce((s, p) => s + p[1], 0) / 4;
    const [tx, ty] = applyAffine(truth(cx, cy, deg, um), [(n - 1) / 2, (n - 1) / 2]);
    expect(Math.hypot(fx - tx, fy - ty)).toBeLessThan(0.02 * Math.max(W, H));
    // the transform: query px -> slide px, k slide pixels a query pixel, turned by the query's angle
    const t = top.transform!;
    expect(t).toHaveLength(6);
    const angle = (Math.atan2(t[3], t[0]) * 180) / Math.PI;
    expect(Math.abs(angle - deg)).toBeLessThan(3);
    expect(Math.hypot(t[0], t[3])).toBeGreaterThan(k * 0.9);
    expect(Math.hypot(t[0], t[3])).toBeLessThan(k * 1.1);
    const centre = applyAffine(t as unknown as Affine, [(n - 1) / 2, (n - 1) / 2]);
    expect(Math.hypot(centre[0] - tx, centre[1] - ty)).toBeLessThan(0.02 * Math.max(W, H));
    // the region is in slide pixels, around the footprint
    expect(top.region!.x).toBeLessThan(fx);
    expect(top.region!.x + top.region!.width).toBeGreaterThan(fx);
    expect(top.region!.y).toBeLessThan(fy);
    expect(top.region!.y + top.region!.height).toBeGreaterThan(fy);
    // the other slide is correlated too (around its own first-stage places) and ranks below
    const b = res.matches.find((m) => m.imageId === other.id);
    expect(b).toBeDefined();
    expect(b!.score).toBeLessThan(top.score);
  });
});

describe('links on a slide', () => {
  test('a stored acquisition searched by id, linked to its top match: the slide lists it with its region in slide pixels and its review status', { timeout: 300_000 }, async () => {
    // the acquisition: a region of the slide at 2 um/px (512 x 512 of a 2048 x 2048 area), stored with its pixel size
    const ox = 1400, oy = 1300;
    const png = await sharp(slideRaw, { raw: { width: W, height: H, channels: 3 }, limitInputPixels: false })
      .extract({ left: ox, top: oy, width: 2048, height: 2048 })
      .resize(512, 512, { kernel: 'lanczos3' })
      .png()
      .toBuffer();
    const acquisition = await app.services.images.ingest({ data: png, fileName: 'field.png', modality: 'BF', micronsPerPixel: 2.0 });
    expect(acquisition.micronsPerPixel).toBe(2.0);
    // its stored pixel size is the query's: no micronsPerPixel in the request
    const res = await app.services.search.search({ imageId: acquisition.id, target: 'BF', first: 3, rerank: { mode: 'correlate' } });
    const top = res.matches[0];
    expect(top.imageId).toBe(slide.id);
    const link = await app.services.links.link({ sourceId: acquisition.id, targetId: slide.id, transform: top.transform, score: top.score, method: 'search' }, { keyId: null, name: 'finder' });
    // the region is the footprint on the slide, in full-resolution slide pixels, around where the field was cut
    const region = link.region as [number, number][];
    expect(region).toHaveLength(4);
    const cx = region.reduce((a, p) => a + p[0], 0) / 4, cy = region.reduce((a, p) => a + p[1], 0) / 4;
    expect(Math.hypot(cx - (ox + 1024), cy - (oy + 1024))).toBeLessThan(0.02 * Math.max(W, H));
    const side = Math.hypot(region[1][0] - region[0][0], region[1][1] - region[0][1]);
    expect(side).toBeGreaterThan(2048 * 0.9);
    expect(side).toBeLessThan(2048 * 1.1);
    // the slide lists it, proposed, then confirmed
    const onSlide = await app.repos.links.forImages([slide.id]);
    expect(onSlide.find((l) => l.id === link.id)).toMatchObject({ sourceId: acquisition.id, targetImageId: slide.id, status: 'PROPOSED' });
    await app.services.links.setStatus(link.id, 'CONFIRMED', { keyId: null, name: 'reviewer' });
    expect((await app.repos.links.forImages([slide.id])).find((l) => l.id === link.id)).toMatchObject({ status: 'CONFIRMED', decidedBy: 'reviewer' });
    await app.services.images.delete(acquisition.id);
  });
});

describe('a tiling job that cannot read its slide', () => {
  test('ends FAILED with the reason, on the job and on the image (tilingState, tilingError), instead of hanging', async () => {
    const row = await app.db.prisma.image.findUniqueOrThrow({ where: { id: slide.id } });
    const stored = app.services.images.storedPath(row);
    const kept = path.join(dir, 'kept-slide.tif');
    await copyFile(stored, kept);
    // the stored file goes bad after ingestion (a disk error, a truncated copy): half of it is left
    const bytes = await readFile(stored);
    await writeFile(stored, bytes.subarray(0, Math.floor(bytes.length / 2)));
    try {
      const job = await app.services.jobs.wait((await app.services.wsi.startTiling(row.id)).id);
      expect(job.state).toBe('FAILED');
      expect(job.error).toBeTruthy();
      const after = await app.db.prisma.image.findUniqueOrThrow({ where: { id: row.id } });
      expect(after.tilingState).toBe('FAILED');
      expect(after.tilingError).toBe(job.error);
    } finally {
      await copyFile(kept, stored);
      const job = await app.services.jobs.wait((await app.services.wsi.startTiling(row.id)).id);
      expect(job.state).toBe('SUCCEEDED');
      expect((await app.db.prisma.image.findUniqueOrThrow({ where: { id: row.id } })).tilingState).toBe('DONE');
    }
  });
});

describe('deleting a slide', () => {
  let tileFiles: string[] = [];
  test('removes its row, tiles and windows', async () => {
    const tiles = await app.db.prisma.tile.findMany({ where: { imageId: other.id } });
    expect(tiles.length).toBeGreaterThan(0);
    tileFiles = tiles.map((t) => t.sha256);
    expect(await storedFiles()).toEqual(expect.arrayContaining(tileFiles));
    await app.services.images.delete(other.id);
    expect(await app.db.prisma.image.findUnique({ where: { id: other.id } })).toBeNull();
    expect(await app.db.prisma.tile.count({ where: { imageId: other.id } })).toBe(0);
    expect(await app.db.prisma.embedding.count({ where: { imageId: other.id } })).toBe(0);
    expect(await storedFiles()).not.toContain(other.sha256);
    // the first slide is still whole
    expect(await app.db.prisma.tile.count({ where: { imageId: slide.id } })).toBe(3);
  });

  test("removes its tiles' CoMIR files from the file store", async () => {
    expect(tileFiles.length).toBeGreaterThan(0);
    const left = (await storedFiles()).filter((f) => tileFiles.includes(f));
    expect(left).toEqual([]);
  });
});
