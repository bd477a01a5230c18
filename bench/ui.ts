/**
 * The dashboard's speed in Debian's Chromium (playwright-core), offline, at 1280 x 800 (issue 20's targets):
 *
 * 1. First meaningful paint of the Images page with 1,000 images: from the navigation's start to the frame in which
 *    the count ("1000 images") and the first page's 24 cards are shown and every thumbnail on screen
 *    is decoded (all 24 at 1280 x 800: the fourth row shows its top; polled every animation frame, in the page); also when the grid alone (names, thumbnails loading) was. Each run in a fresh browser context (no browser cache); the first run meets the server cold
 *    (thumbnails rendered by sharp), the others warm. Target <= 1 s. The 1,000 images are 128 x 96 PNGs ingested
 *    through the product path (ImageService.ingest, as `cmir ingest` does: ~0.12 s each here), on 10 slides.
 * 2. A viewer pan's tile loads: a 6000 x 4000 pyramidal JPEG TIFF (256-px tiles), put into the file store with its
 *    Image row directly as bench/tiles.ts does (whole-slide ingestion also tiles the tissue for search, which a viewer
 *    does not need). The viewer is zoomed in (6 wheel steps), then dragged right, down, left and up (300 or 200 px).
 *    Each tile a pan asks for is timed from its request to its response; the pan as a whole from the mouse press to
 *    the last tile response it caused (then 400 ms without one). Cold: the server decodes every tile; warm: the same
 *    pans again in a fresh browser context (no browser cache; the server's tile cache holds the tiles). Target: a
 *    warm pan's tiles load in <= 200 ms.
 *
 *   npx tsx bench/ui.ts [--images 1000] [--runs 5] [--paint-only] [--ab OTHER_DIST --ab-label NAME]      (npm run bench:ui)
 *
 * Writes bench/results/ui.json and .md. Needs /usr/bin/chromium (or CMIR_CHROMIUM).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Browser, type CDPSession, chromium, type Page } from 'playwright-core';
import sharp, { type OverlayOptions } from 'sharp';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { FileStore } from '../src/db/file-store.ts';
import { toGlobalId } from '../src/ids.ts';
import { APP_DIR } from '../src/server/browser.ts';
import { startServer } from '../src/server/server.ts';
import { makeImage } from '../test/helpers/images.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const IMAGES = Number(arg('images', '1000'));
const RUNS = Number(arg('runs', '5'));
const PANS = 4;
const [SLIDE_W, SLIDE_H] = [6000, 4000];
const ROOT = path.join(import.meta.dirname, '..');
const executable = process.env.CMIR_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executable)) throw new Error(`no browser at ${executable} (apt-get install -y chromium, or set CMIR_CHROMIUM)`);
if (!existsSync(path.join(APP_DIR, 'index.html'))) throw new Error('the dashboard is not built: npm run build:app');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r1 = (v: number) => Math.round(v * 10) / 10;

/** The slide, built once (tmp/ is not committed). */
async function buildSlide(): Promise<string> {
  const file = path.join(ROOT, 'tmp', `bench-ui-slide-${SLIDE_W}x${SLIDE_H}.tif`);
  if (existsSync(file)) return file;
  await mkdir(path.dirname(file), { recursive: true });
  const coarse = await sharp({ create: { width: SLIDE_W / 16, height: SLIDE_H / 16, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 140, sigma: 70 } } })
    .blur(1.5)
    .resize(SLIDE_W, SLIDE_H, { fit: 'fill', kernel: 'cubic' })
    .png({ compressionLevel: 1 })
    .toBuffer();
  const texture = await sharp({ create: { width: SLIDE_W, height: SLIDE_H, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 24 } } })
    .png({ compressionLevel: 1 })
    .toBuffer();
  await sharp(coarse, { limitInputPixels: false })
    .composite([{ input: texture, blend: 'soft-light', limitInputPixels: false } as OverlayOptions])
    .tiff({ tile: true, pyramid: true, tileWidth: 256, tileHeight: 256, compression: 'jpeg', quality: 90, xres: 2000, yres: 2000, resolutionUnit: 'cm' })
    .toFile(`${file}.tmp`);
  await rename(`${file}.tmp`, file);
  return file;
}

/** One visit of the Images page in a fresh context: ms from navigation start to the first complete frame. */
async function firstPaint(browser: Browser, origin: string): Promise<{ grid: number; meaningful: number; contentful: number; breakdown: Breakdown }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${origin}/`);
    const grid = await page.waitForFunction(
      (n) => document.querySelector('[data-testid="image-count"]')?.textContent === `${n} images` && document.querySelectorAll('.grid .card strong').length === 24 ? performance.now() : null,
      IMAGES,
      { polling: 'raf', timeout: 30_000 },
    );
    const meaningful = await page.waitForFunction(
      (n) => {
        const count = document.querySelector('[data-testid="image-count"]')?.textContent;
        const cards = [...document.querySelectorAll<HTMLElement>('.grid .card')];
        // the thumbnails on screen (the rest of the page's 24 are below the fold)
        const visible = cards.filter((c) => c.getBoundingClientRect().top < innerHeight);
        const decoded = visible.every((c) => {
          const img = c.querySelector('img');
          return img !== null && img.complete && img.naturalWidth > 0;
        });
        return count === `${n} images` && cards.length === 24 && decoded ? performance.now() : null;
      },
      IMAGES,
      { polling: 'raf', timeout: 30_000 },
    );
    const contentful = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
    return { grid: r1((await grid.jsonValue()) as number), meaningful: r1((await meaningful.jsonValue()) as number), contentful: r1(contentful), breakdown: { ...(await breakdown(page)), renderer: await rendererMs(cdp) } };
  } finally {
    await context.close();
  }
}

/** Where a first paint's time went, from Chromium's own performance entries (ms since the navigation's start). */
interface Breakdown {
  /** the page's HTML arrived */
  documentEnd: number;
  /** each script and stylesheet of the app: requested -> arrived, and its size on the wire */
  assets: { name: string; start: number; end: number; bytes: number }[];
  /** each GraphQL request: sent -> answered */
  graphql: { start: number; end: number }[];
  /**
   * thumbnails: how many, the first requested, the last arrived, the median request -> response and its part on the
   * server (request sent -> first byte), the last of those on screen arrived, how many are on screen
   */
  /** the renderer's main thread: ms in script, layout, style and all its tasks (Chromium's Performance metrics) */
  renderer: { script: number; layout: number; style: number; tasks: number };
  thumbnails: { count: number; firstStart: number; lastEnd: number; medianMs: number; bytes: number; medianServerMs: number; onScreenLastEnd: number; onScreen: number };
}

/** The page's renderer main thread until now, by Chromium's Performance domain (CDP): script, layout, style, all tasks. */
async function rendererMs(cdp: CDPSession): Promise<{ script: number; layout: number; style: number; tasks: number }> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name: string) => r1((metrics.find((m) => m.name === name)?.value ?? NaN) * 1000);
  return { script: get('ScriptDuration'), layout: get('LayoutDuration'), style: get('RecalcStyleDuration'), tasks: get('TaskDuration') };
}

async function breakdown(page: Page): Promise<Omit<Breakdown, 'renderer'>> {
  // a string, not a function: tsx's keepNames would wrap a function's inner arrows in a __name the page lacks
  return page.evaluate(`(() => {
    const r = (v) => Math.round(v * 10) / 10;
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const path = (e) => new URL(e.name).pathname;
    const thumbs = res.filter((e) => path(e).startsWith('/thumbnails/'));
    const waits = thumbs.map((e) => e.responseEnd - e.startTime).sort((a, b) => a - b);
    return {
      documentEnd: r(nav.responseEnd),
      assets: res.filter((e) => path(e).startsWith('/app/')).map((e) => ({ name: path(e), start: r(e.startTime), end: r(e.responseEnd), bytes: e.transferSize })),
      graphql: res.filter((e) => path(e) === '/graphql').map((e) => ({ start: r(e.startTime), end: r(e.responseEnd) })),
      thumbnails: {
        count: thumbs.length,
        firstStart: r(Math.min(...thumbs.map((e) => e.startTime))),
        lastEnd: r(Math.max(...thumbs.map((e) => e.responseEnd))),
        medianMs: r(waits[Math.floor(waits.length / 2)] ?? NaN),
        bytes: thumbs.reduce((a, e) => a + e.transferSize, 0),
        medianServerMs: r(thumbs.map((e) => e.responseStart - e.requestStart).sort((a, b) => a - b)[Math.floor(thumbs.length / 2)] ?? NaN),
        onScreenLastEnd: r(Math.max(...[...document.querySelectorAll('.grid .card')].filter((c) => c.getBoundingClientRect().top < innerHeight).map((c) => {
          const e = performance.getEntriesByName(c.querySelector('img').src)[0];
          return e ? e.responseEnd : NaN;
        }))),
        onScreen: [...document.querySelectorAll('.grid .card')].filter((c) => c.getBoundingClientRect().top < innerHeight).length,
      },
    };
  })()`);
}

/** Waits until no IIIF tile response came for `quietMs`; returns the time of the last one (or null: none came). */
async function settle(page: Page, responses: number[], from: number, quietMs = 400): Promise<number | null> {
  for (;;) {
    const before = responses.length;
    await page.waitForTimeout(quietMs);
    if (responses.length === before) break;
  }
  const mine = responses.filter((t) => t >= from);
  return mine.length ? Math.max(...mine) : null;
}

/** Opens the viewer, zooms in, pans PANS times; the ms each pan's tiles took, and how many tiles it loaded. */
async function pans(browser: Browser, origin: string, imageId: string): Promise<{ ms: number; tiles: number; tileMs: number[] }[]> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const responses: number[] = [];
    /** Each tile's wait, request sent -> response, by the time it arrived. */
    const waits: [number, number][] = [];
    const sent = new Map<object, number>();
    const isTile = (url: string) => /\/iiif\/3\/[^/]+\/[^/]+\/[^/]+\/0\//.test(new URL(url).pathname);
    page.on('request', (r) => {
      if (isTile(r.url())) sent.set(r, performance.now());
    });
    page.on('response', (r) => {
      if (!isTile(r.url())) return;
      const now = performance.now();
      responses.push(now);
      waits.push([now, now - (sent.get(r.request()) ?? now)]);
    });
    await page.goto(`${origin}/#/viewer/${encodeURIComponent(imageId)}`);
    await page.getByTestId('main-viewer').locator('canvas').first().waitFor();
    await settle(page, responses, 0, 800);
    const box = (await page.getByTestId('main-viewer').boundingBox())!;
    const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
    await page.mouse.move(cx, cy);
    for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -100);
    await settle(page, responses, 0, 800);
    const out: { ms: number; tiles: number; tileMs: number[] }[] = [];
    // right, down, left, up: a loop that stays on the image
    const drags = [[-300, 0], [0, -200], [300, 0], [0, 200]];
    for (let i = 0; i < PANS; i++) {
      const t0 = performance.now();
      const n0 = responses.length;
      const [dx, dy] = drags[i % drags.length];
      await page.mouse.move(cx - dx / 2, cy - dy / 2);
      await page.mouse.down();
      await page.mouse.move(cx + dx / 2, cy + dy / 2, { steps: 8 });
      await page.mouse.up();
      const last = await settle(page, responses, t0);
      out.push({ ms: last === null ? 0 : r1(last - t0), tiles: responses.length - n0, tileMs: waits.filter(([at]) => at >= t0).map(([, w]) => r1(w)) });
    }
    return out;
  } finally {
    await context.close();
  }
}

const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-bench-ui-'));
const app = await createApp({ ...loadConfig({ home }, { ...process.env, DATABASE_URL: '' }), modelsDir: path.join(home, 'no-models') }, { memory: true });
const server = await startServer(app, 0, '127.0.0.1');
const browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost'] });
try {
  const t0 = performance.now();
  for (let i = 0; i < IMAGES; i++) {
    await app.services.images.ingest({ data: await makeImage({ seed: i, width: 128, height: 96 }), fileName: `img-${i}.png`, modality: i % 2 ? 'SHG' : 'BF', slide: `slide-${i % 10}` });
  }
  const ingestS = (performance.now() - t0) / 1000;
  console.log(`ingested ${IMAGES} images in ${ingestS.toFixed(0)} s`);
  const origin = `http://localhost:${server.port}`;

  const paints = [];
  for (let i = 0; i < RUNS; i++) paints.push(await firstPaint(browser, origin));
  console.log('first paints', JSON.stringify(paints, null, 1));
  const other = arg('ab', '');
  let abSummary: { other: string; thisMedian: number; otherMedian: number; thisRuns: number[]; otherRuns: number[] } | null = null;
  if (other) {
    // --ab DIR: first paints of this build and of another (DIR: a web/app/dist built from another commit), alternated
    // on this warm server, so a before/after shares the machine's load (the server reads APP_DIR on every request)
    const ab: { build: string; meaningful: number; grid: number }[] = [];
    const mine = `${APP_DIR}.ab-mine`;
    for (let i = 0; i < 2 * RUNS; i++) {
      const theirs = i % 2 === 1;
      if (theirs) await rename(APP_DIR, mine).then(() => rename(other, APP_DIR));
      try {
        const p = await firstPaint(browser, origin);
        ab.push({ build: theirs ? other : 'this', meaningful: p.meaningful, grid: p.grid });
      } finally {
        if (theirs) await rename(APP_DIR, other).then(() => rename(mine, APP_DIR));
      }
    }
    const runsOf = (build: string) => ab.filter((r) => r.build === build).map((r) => r.meaningful);
    abSummary = { other: arg('ab-label', 'the other build'), thisMedian: r1(median(runsOf('this'))), otherMedian: r1(median(runsOf(other))), thisRuns: runsOf('this'), otherRuns: runsOf(other) };
    console.log(abSummary);
  }
  // --paint-only: profiling the first paint alone (no results written)
  if (process.argv.includes('--paint-only')) {
    await Promise.all([browser.close(), server.stop()]);
    await app.close();
    await rm(home, { recursive: true, force: true });
    process.exit(0);
  }

  const data = await readFile(await buildSlide());
  const modality = await app.services.modalities.create({ name: 'WSI', channels: 3 });
  const { sha256 } = await new FileStore(path.join(home, 'files')).put(data);
  const row = await app.db.prisma.image.create({
    data: { name: 'bench-slide', modalityId: modality.id, width: SLIDE_W, height: SLIDE_H, channels: 3, bitDepth: 8, format: 'tiff', page: 0, byteSize: data.length, sha256 },
  });
  const id = toGlobalId('Image', row.id);
  const cold = await pans(browser, origin, id);
  const warm = await pans(browser, origin, id);
  console.log('pans', { cold, warm });

  const warmPaints = paints.slice(1).map((p) => p.meaningful);
  // where a warm first paint's time went: the median of each milestone over the warm runs
  const warmBreakdowns = paints.slice(1).map((p) => p.breakdown);
  const mid = (f: (b: Breakdown) => number) => r1(median(warmBreakdowns.map(f)));
  const appJs = (b: Breakdown) => b.assets.find((a) => a.name === '/app/app.js')?.end ?? NaN;
  const phases = {
    documentArrived: mid((b) => b.documentEnd),
    bundleArrived: mid((b) => Math.max(...b.assets.map((a) => a.end))),
    appJsArrived: mid(appJs),
    firstQuerySent: mid((b) => Math.min(...b.graphql.map((g) => g.start))),
    firstPageAnswered: mid((b) => b.graphql[0]?.end ?? NaN),
    firstThumbnailRequested: mid((b) => b.thumbnails.firstStart),
    lastThumbnailOnScreenArrived: mid((b) => b.thumbnails.onScreenLastEnd),
    thumbnailsOnScreen: mid((b) => b.thumbnails.onScreen),
    /** thumbnails fetched one request each (0: they came inline in the first page's answer) */
    thumbnailRequests: mid((b) => b.thumbnails.count),
    thumbnailRequestMedian: mid((b) => b.thumbnails.medianMs),
    thumbnailServerMedian: mid((b) => b.thumbnails.medianServerMs),
    rendererScript: mid((b) => b.renderer.script),
    rendererTasks: mid((b) => b.renderer.tasks),
  };
  const warmGrids = paints.slice(1).map((p) => p.grid);
  const summary = {
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, Chromium ${browser.version()}, load average ${os.loadavg()[0].toFixed(1)} at the end`,
    images: IMAGES,
    ingestSeconds: Math.round(ingestS),
    gridRenderedMs: { cold: paints[0].grid, warmMedian: r1(median(warmGrids)), warmMax: Math.max(...warmGrids) },
    firstMeaningfulPaintMs: { cold: paints[0].meaningful, warmMedian: r1(median(warmPaints)), warmMax: Math.max(...warmPaints), runs: paints },
    slide: `${SLIDE_W}x${SLIDE_H} RGB pyramidal TIFF, 256-px JPEG tiles, ${(data.length / 1e6).toFixed(1)} MB`,
    tileLoadMs: {
      cold: { median: r1(median(cold.flatMap((p) => p.tileMs))), max: Math.max(...cold.flatMap((p) => p.tileMs)) },
      warm: { median: r1(median(warm.flatMap((p) => p.tileMs))), max: Math.max(...warm.flatMap((p) => p.tileMs)) },
    },
    panMs: { coldMedian: r1(median(cold.map((p) => p.ms))), warmMedian: r1(median(warm.map((p) => p.ms))), warmMax: Math.max(...warm.map((p) => p.ms)), cold, warm },
    firstPaintPhasesMs: phases,
    ...(abSummary ? { firstPaintBeforeAfter: abSummary } : {}),
    targets: { firstMeaningfulPaintMs: 1000, warmPanMs: 200 },
  };
  const ok = (v: number, t: number) => (v <= t ? 'met' : 'missed');
  const md = [
    '# Dashboard speed in Chromium (bench/ui.ts)',
    '',
    `${summary.machine}; viewport 1280 x 800, offline. ${IMAGES} images (128 x 96 PNG, ingested through ImageService.ingest in ${summary.ingestSeconds} s).`,
    '',
    '| measure | result | target |',
    '|---|---|---|',
    `| Images page, grid rendered (count + 24 named cards; thumbnails still loading), server cold | ${paints[0].grid} ms | |`,
    `| same, server warm, median of ${warmGrids.length} (max) | ${summary.gridRenderedMs.warmMedian} ms (${summary.gridRenderedMs.warmMax}) | |`,
    `| Images page, first meaningful paint (count, 24 cards, every thumbnail on screen decoded), server cold | ${paints[0].meaningful} ms | 1000 ms: ${ok(paints[0].meaningful, 1000)} |`,
    `| same, server warm, median of ${warmPaints.length} (max) | ${summary.firstMeaningfulPaintMs.warmMedian} ms (${summary.firstMeaningfulPaintMs.warmMax}) | 1000 ms: ${ok(summary.firstMeaningfulPaintMs.warmMax, 1000)} |`,
    `| first contentful paint, median | ${r1(median(paints.map((p) => p.contentful)))} ms | |`,
    `| a pan's tile loads, request -> response, cold server: median (max) of ${cold.flatMap((p) => p.tileMs).length} | ${summary.tileLoadMs.cold.median} ms (${summary.tileLoadMs.cold.max}) | |`,
    `| same, warm server (fresh browser cache): median (max) of ${warm.flatMap((p) => p.tileMs).length} | ${summary.tileLoadMs.warm.median} ms (${summary.tileLoadMs.warm.max}) | 200 ms: ${ok(summary.tileLoadMs.warm.max, 200)} (max) |`,
    `| viewer pan (a 200-300 px drag, zoomed in) until its last tile arrived, cold server, median of ${PANS} | ${summary.panMs.coldMedian} ms | |`,
    `| same, warm server (fresh browser cache), median of ${PANS} (max) | ${summary.panMs.warmMedian} ms (${summary.panMs.warmMax}) | |`,
    '',
    `Where a warm first paint's time went (medians, ms from the navigation's start; Chromium's resource timing and Performance metrics): the page arrived ${phases.documentArrived}, the bundle ${phases.bundleArrived}, the first page's query sent ${phases.firstQuerySent} and answered ${phases.firstPageAnswered}, ${
      phases.thumbnailRequests > 0
        ? `the first thumbnail asked for ${phases.firstThumbnailRequested}, the last of the ${phases.thumbnailsOnScreen} on screen arrived ${phases.lastThumbnailOnScreenArrived} (each ${phases.thumbnailRequestMedian} ms from request to response, ${phases.thumbnailServerMedian} of it waiting for the server's first byte)`
        : `the ${phases.thumbnailsOnScreen} thumbnails on screen came inline in that answer (no thumbnail requests)`
    }; the renderer's main thread ran scripts for ${phases.rendererScript} ms, ${phases.rendererTasks} ms of tasks in all.`,
    ...(abSummary
      ? [
          '',
          `Before/after on the same warm server, alternating (${RUNS} runs each): this build ${abSummary.thisMedian} ms median (${abSummary.thisRuns.join(', ')}), ${abSummary.other} ${abSummary.otherMedian} ms (${abSummary.otherRuns.join(', ')}).`,
        ]
      : []),
    '',
    `Slide: ${summary.slide}, put into the file store directly. Tiles per pan: cold ${cold.map((p) => p.tiles).join(', ')}; warm ${warm.map((p) => p.tiles).join(', ')}.`,
    "A pan's time includes the drag itself (8 mouse steps) and OpenSeadragon's glide after it (tiles are asked for as the view moves), to the last tile response; a tile's load is its own request -> response.",
    '',
  ].join('\n');
  await writeFile(path.join(ROOT, 'bench', 'results', 'ui.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(path.join(ROOT, 'bench', 'results', 'ui.md'), md);
  console.log(md);
} finally {
  await browser.close();
  await server.stop();
  await app.close();
  await rm(home, { recursive: true, force: true });
}
