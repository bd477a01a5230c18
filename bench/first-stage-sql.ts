/**
 * The first stage's SQL alone (issue 17): one search's query vectors (224 for a whole vis-nir NIR image) sent to
 * pgvector as one statement, or split into P statements on P connections at once. Runs against a kept repository
 * (bench:scale-retrieval --home/--database); the query vectors are computed once, so only the SQL is timed.
 *
 *   npm run bench:first-stage-sql -- --database postgresql://... [--home DIR] [--queries 12] [--parts 1,2,4] [--rounds 3]
 *
 * Prints p50 / p95 per part count (interleaved rounds, so a noisy neighbour hits every setting alike).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { decodeImage } from '../src/pipeline/decode/decode.ts';
import { markNoData } from '../src/pipeline/decode/nodata.ts';
import { queryVectors } from '../src/pipeline/index/embedding.ts';
import { EmbeddingService, FIRST_STAGE_WINDOWS } from '../src/services/embedding.service.ts';
import { describerOf } from '../src/pipeline/threads/tasks.ts';
import { dataMask } from '../src/services/no-data.ts';
import { visNirQueries } from './lib/queries.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const DATA = process.env.CMIR_DATA_DIR ?? path.join(import.meta.dirname, '..', '..', 'shared', 'data');
const home = arg('home', path.join(import.meta.dirname, '.cache', 'first-stage-sql'));
const app = await createApp(loadConfig({ home }, { ...process.env, DATABASE_URL: arg('database', '') }), {});
const NQ = Number(arg('queries', '12')), PARTS = arg('parts', '1,2,4').split(',').map(Number), ROUNDS = Number(arg('rounds', '3'));
const { test } = await visNirQueries(DATA, NQ);
const nir = (await app.services.representations.modalityByName('NIR'))!, rgb = (await app.services.representations.modalityByName('RGB'))!;
const describer = await describerOf(EmbeddingService.describer(rgb)); // on this thread: the bench calls queryVectors itself
const space = EmbeddingService.space(rgb);
const sets: Float32Array[][] = [];
// NQ spread over the test split (past its length, some twice: each is timed again)
for (let i = 0; i < NQ; i++) {
  const data = await readFile(path.join(DATA, 'vis-nir', test[Math.floor((i * test.length) / NQ)].nir));
  const q = await decodeImage(data, { maxPixels: 1e9 });
  const comir = await app.services.representations.compute(nir, q.image);
  const valid = dataMask(q.image, 0, q.info.bitDepth, 'query');
  sets.push((await queryVectors(valid ? markNoData(comir, valid) : comir, 30, describer)).map((v) => v.vector));
}
const times = new Map<number, number[]>(PARTS.map((p) => [p, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const vectors of sets) {
    for (const p of PARTS) {
      const t = performance.now();
      const size = Math.ceil(vectors.length / p);
      const parts = Array.from({ length: p }, (_, k) => vectors.slice(k * size, (k + 1) * size));
      await Promise.all(parts.map((part) => app.repos.vectors.nearestWindows(rgb.id, space, part, FIRST_STAGE_WINDOWS)));
      times.get(p)!.push(performance.now() - t);
    }
  }
}
const pct = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.ceil((q / 100) * v.length) - 1)];
const images = await app.services.embeddings.indexed(rgb);
console.log(JSON.stringify({ images, vectorsPerQuery: sets[0].length, rows: PARTS.map((p) => ({ parts: p, p50Ms: Math.round(pct(times.get(p)!, 50)), p95Ms: Math.round(pct(times.get(p)!, 95)) })) }));
await app.close();
