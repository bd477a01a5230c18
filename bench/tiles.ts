/**
 * Deep-zoom tile latency (IIIF Image API 3.0 level 1, src/services/tile.service.ts) on a whole-slide-sized image: an
 * ~8000 x 6000 RGB pyramidal tiled TIFF (256-px tiles, JPEG-compressed like scanner output unless --compression lzw)
 * with a random-ish pattern (smooth structure plus fine texture), built once in tmp/. The app's HTTP server runs on a
 * temporary home with the embedded database; the TIFF is put into the file store with its Image row directly (the
 * ingestion of whole-slide images is another item of the issue). Then `tileLatency` (bench/lib/tiles.ts): n random
 * tiles at random levels, cold then warm. Target: warm p50 <= 50 ms.
 *
 *   npx tsx bench/tiles.ts [--n 200] [--width 8000] [--height 6000] [--compression jpeg|lzw] [--seed 1]
 *
 * Writes bench/results/tiles.json and .md.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp, { type OverlayOptions } from 'sharp';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { FileStore } from '../src/db/file-store.ts';
import { startServer } from '../src/server/server.ts';
import { tileLatency } from './lib/tiles.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const N = Number(arg('n', '200'));
const WIDTH = Number(arg('width', '8000'));
const HEIGHT = Number(arg('height', '6000'));
const COMPRESSION = arg('compression', 'jpeg') as 'jpeg' | 'lzw';
const SEED = Number(arg('seed', '1'));
const ROOT = path.join(import.meta.dirname, '..');

/** The slide, built once per size and compression (tmp/ is not committed). */
async function buildSlide(): Promise<string> {
  const file = path.join(ROOT, 'tmp', `bench-slide-${WIDTH}x${HEIGHT}-${COMPRESSION}.tif`);
  if (existsSync(file)) return file;
  await mkdir(path.dirname(file), { recursive: true });
  const t0 = performance.now();
  // smooth random structure (noise at 1/16 scale, blurred and enlarged) under fine random texture
  const coarse = await sharp({ create: { width: Math.ceil(WIDTH / 16), height: Math.ceil(HEIGHT / 16), channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 140, sigma: 70 } } })
    .blur(1.5)
    .resize(WIDTH, HEIGHT, { fit: 'fill', kernel: 'cubic' })
    .png({ compressionLevel: 1 })
    .toBuffer();
  const texture = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 24 } } })
    .png({ compressionLevel: 1 })
    .toBuffer();
  await sharp(coarse, { limitInputPixels: false })
    .composite([{ input: texture, blend: 'soft-light', limitInputPixels: false } as OverlayOptions])
    .tiff({ tile: true, pyramid: true, tileWidth: 256, tileHeight: 256, compression: COMPRESSION, quality: 90, xres: 2000, yres: 2000, resolutionUnit: 'cm' })
    .toFile(`${file}.tmp`);
  await rename(`${file}.tmp`, file);
  console.log(`built ${path.relative(ROOT, file)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return file;
}

const slide = await buildSlide();
const data = await readFile(slide);
const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-bench-tiles-'));
const app = await createApp({ ...loadConfig({ home }, { ...process.env, DATABASE_URL: '' }), modelsDir: path.join(home, 'no-models') }, { memory: true });
const server = await startServer(app, 0, '127.0.0.1');
try {
  const modality = await app.services.modalities.create({ name: 'BF', channels: 3 });
  const { sha256 } = await new FileStore(path.join(home, 'files')).put(data);
  const row = await app.db.prisma.image.create({
    data: { name: 'bench-slide', modalityId: modality.id, width: WIDTH, height: HEIGHT, channels: 3, bitDepth: 8, format: 'tiff', page: 0, byteSize: data.length, sha256 },
  });
  const result = await tileLatency(`http://127.0.0.1:${server.port}`, row.id, { n: N, seed: SEED });
  const levels = Object.entries(result.levels).map(([f, c]) => `${f}:${c}`).join(' ');
  const summary = {
    image: `${WIDTH}x${HEIGHT} RGB 8-bit pyramidal TIFF, 256-px tiles, ${COMPRESSION}, ${(data.length / 1e6).toFixed(1)} MB`,
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}`,
    ...result,
  };
  console.log(JSON.stringify(summary, null, 2));
  const md = [
    '# Deep-zoom tile latency (bench/tiles.ts)',
    '',
    `${summary.image}; ${result.n} distinct 256-px JPEG tiles at random levels (scale factor:count ${levels}), one request at a time over HTTP; ${summary.machine}. Mean tile ${result.meanBytes} bytes.`,
    '',
    '| pass | p50 ms | p95 ms | mean ms | max ms |',
    '|---|---|---|---|---|',
    `| cold (decoded from the TIFF) | ${result.cold.p50} | ${result.cold.p95} | ${result.cold.mean} | ${result.cold.max} |`,
    `| warm (in-memory tile cache) | ${result.warm.p50} | ${result.warm.p95} | ${result.warm.mean} | ${result.warm.max} |`,
    '',
  ].join('\n');
  await writeFile(path.join(ROOT, 'bench', 'results', 'tiles.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(path.join(ROOT, 'bench', 'results', 'tiles.md'), md);
} finally {
  await server.stop();
  await app.close();
  await rm(home, { recursive: true, force: true });
}
