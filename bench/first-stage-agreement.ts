/**
 * How the first stage scores an image from its window hits (issue 17, pipeline/index/embedding.ts rankImages): the best
 * window alone (agreement 1) against the mean of the image's best similarity for each of its m best-agreeing query
 * vectors, on a kept scale-retrieval repository (bench:scale-retrieval --home). Every query's hits are fetched once
 * (pgvector, k windows per query vector, as the product does) and scored every way.
 *
 *   npm run bench:first-stage-agreement -- --home bench/.cache/scale-retrieval/n1000-learned [--database URL]
 *     [--queries 24] [--agreement 1,5,8,12] [--kinds crop,whole] [--k 100,300] [--out first-stage-agreement]
 *
 * --k: windows fetched per query vector (the product's FIRST_STAGE_WINDOWS by default); each is fetched and timed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { decodeImage } from '../src/pipeline/decode/decode.ts';
import { markNoData } from '../src/pipeline/decode/nodata.ts';
import { queryVectors, rankImages } from '../src/pipeline/index/embedding.ts';
import { EmbeddingService, FIRST_STAGE_WINDOWS } from '../src/services/embedding.service.ts';
import { describerOf } from '../src/pipeline/threads/tasks.ts';
import { dataMask } from '../src/services/no-data.ts';
import { centreCropPng16, visNirQueries } from './lib/queries.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const DATA = process.env.CMIR_DATA_DIR ?? path.join(import.meta.dirname, '..', '..', 'shared', 'data');
const home = path.resolve(arg('home', ''));
const NQ = Number(arg('queries', '24'));
const AGREEMENTS = arg('agreement', '1,5,8,12').split(',').map(Number);
const KINDS = arg('kinds', 'crop,whole').split(',');
const OUT = arg('out', 'first-stage-agreement');
const KS = arg('k', String(FIRST_STAGE_WINDOWS)).split(',').map(Number);
const app = await createApp(loadConfig({ home }, { ...process.env, DATABASE_URL: arg('database', '') }), {});
const kept = JSON.parse(await readFile(path.join(home, 'ingested.json'), 'utf8')) as { ids: [string, number][] };
const idOf = new Map(kept.ids);
const { queryPairs: queries, decode } = await visNirQueries(DATA, NQ);
const nir = (await app.services.representations.modalityByName('NIR'))!, rgb = (await app.services.representations.modalityByName('RGB'))!;
const describer = await describerOf(EmbeddingService.describer(rgb)); // on this thread: the bench calls queryVectors itself
const space = EmbeddingService.space(rgb);
const images = await app.services.embeddings.indexed(rgb);
const result: { n: number; queries: number; k: number[]; rows: Record<string, unknown>[]; created: string } = { n: images, queries: queries.length, k: KS, rows: [], created: new Date().toISOString() };
const pct50 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
for (const kind of KINDS) {
  const key = (k: number, m: number) => `${k}/${m}`;
  const ranks = new Map<string, number[]>(KS.flatMap((k) => AGREEMENTS.map((m) => [key(k, m), []])));
  const sqlMs = new Map<number, number[]>(KS.map((k) => [k, []]));
  for (const p of queries) {
    let img = await decode(p.nir), valid: Uint8Array | null = null;
    // as bench:scale-retrieval sends it: a 16-bit PNG of the centre crop
    if (kind === 'crop') img = (await decodeImage(await centreCropPng16(img), { maxPixels: 1e9 })).image;
    else valid = dataMask(img, 0, 8, 'query');
    const comir = await app.services.representations.compute(nir, img);
    const qv = await queryVectors(valid ? markNoData(comir, valid) : comir, 30, describer);
    for (const k of KS) {
      const t0 = performance.now();
      const hits = await app.repos.vectors.nearestWindows(rgb.id, space, qv.map((q) => q.vector), k);
      sqlMs.get(k)!.push(performance.now() - t0);
      for (const m of AGREEMENTS) {
        const r = rankImages(hits, 1, m).findIndex((h) => h.entryId === idOf.get(p.id));
        ranks.get(key(k, m))!.push(r < 0 ? Infinity : r + 1);
      }
    }
  }
  for (const k of KS) for (const m of AGREEMENTS) {
    const v = ranks.get(key(k, m))!;
    const at = (n: number) => Math.round((1000 * v.filter((r) => r <= n).length) / v.length) / 10;
    result.rows.push({ kind, k, agreement: m, acc1: at(1), recall: { 10: at(10), 30: at(30), 100: at(100) }, sqlP50Ms: Math.round(pct50(sqlMs.get(k)!)), ranks: v.map((r) => (Number.isFinite(r) ? r : null)) });
  }
  console.log(JSON.stringify(result.rows.filter((r) => r.kind === kind).map((r) => ({ ...r, ranks: undefined }))));
}
await app.close();
const dir = path.join(import.meta.dirname, 'results');
await writeFile(path.join(dir, `${OUT}.json`), JSON.stringify(result, null, 2) + '\n');
await writeFile(path.join(dir, `${OUT}.md`), [
  '# First-stage scoring: best window vs agreement of the query\'s vectors (`npm run bench:first-stage-agreement`)', '',
  `Created ${result.created}. vis-nir NIR->RGB, ${result.queries} queries per kind, ${result.n} images in the repository; k: windows per query vector (pgvector HNSW, ef_search max(100, k)), with the SQL's p50 time. Agreement m: an image scores the mean of its best similarity for each of its m best query vectors (1 = its best window).`, '',
  '| query | k | agreement | Acc@1 | recall@10 | recall@30 | recall@100 | SQL p50 ms |', '|---|---|---|---|---|---|---|---|',
  ...result.rows.map((r: any) => `| ${r.kind} | ${r.k} | ${r.agreement} | ${r.acc1} | ${r.recall[10]} | ${r.recall[30]} | ${r.recall[100]} | ${r.sqlP50Ms} |`), '',
].join('\n'));
