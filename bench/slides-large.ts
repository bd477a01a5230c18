/**
 * The gigapixel slide of bench:slides (issue 18): bench/slides/tma.ts makeLargeSlide (40,000 x 30,000 at 0.5 um/px,
 * 108 real cores) ingested end to end on a fresh embedded database: pyramid check, copy into the file store, tiling
 * job (tissue detection, CoMIR and vectors of every tissue tile). Run by bench/slides.ts --large in its own process
 * so that the peak RSS is the ingestion's; prints one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { makeLargeSlide } from './slides/tma.ts';

const made = await makeLargeSlide();
const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-bench-large-'));
const app = await createApp(loadConfig({ home }, { ...process.env, DATABASE_URL: '' }));
try {
  const t0 = performance.now();
  const { image, tilingJob } = await app.services.images.ingestFile(made.file, { modality: 'BF' });
  const stored = performance.now();
  const job = await app.services.jobs.wait(tilingJob!);
  const seconds = (performance.now() - t0) / 1000;
  if (job.state !== 'SUCCEEDED') throw new Error(`tiling ${job.state}: ${job.error}`);
  const tiles = await app.db.prisma.tile.count({ where: { imageId: image.id } });
  const windows = await app.db.prisma.embedding.count({ where: { imageId: image.id } });
  await app.close();
  const du = (p: string) => Number(execFileSync('du', ['-sk', p], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  console.log(
    JSON.stringify({
      megapixels: Math.round((image.width * image.height) / 1e6),
      width: image.width,
      height: image.height,
      seconds: Math.round(seconds),
      storeSeconds: Math.round((stored - t0) / 100) / 10,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      tiles,
      windows,
      result: job.result,
      dbMegabytes: Math.round(du(path.join(home, 'db'))),
      tileComirMegabytes: Math.round(du(path.join(home, 'files')) - du(made.file)),
    }),
  );
} finally {
  await rm(home, { recursive: true, force: true });
}
