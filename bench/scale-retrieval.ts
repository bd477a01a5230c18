/**
 * The vector first stage at repository scale (issue 17): vis-nir test images of the target modality plus distractors
 * (random 25-100 % crops, rotated, of images that are not the query's pair), ingested through the product's services;
 * the protocol's queries (whole and 30 % crop) answered by `search.search`. Rows: Acc@1/@10 and recall@K of the
 * first stage (the true image among the K it hands to re-ranking), and per-stage latency.
 *
 *   npm run bench:scale-retrieval -- [--n 160,1000] [--queries 24] [--rerank none,default,k30] [--kinds whole,crop]
 *     [--descriptor learned|box] [--out scale-retrieval] [--home bench/.cache/scale-retrieval]
 *
 * --descriptor box: the shipped models without their learned window descriptor (a copy of models/ whose manifests lack
 * `window_descriptor`), so the hand-made box vector describes the windows (docs/adr/0015).
 *
 * Writes bench/results/scale-retrieval.json and .md. Real data from CMIR_DATA_DIR (default ../shared/data).
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { decodeImage } from '../src/pipeline/decode/decode.ts';
import { rigidAbout } from '../src/pipeline/rerank/geometry.ts';
import type { PlanarImage } from '../src/pipeline/types.ts';
import { markNoData } from '../src/pipeline/decode/nodata.ts';
import { atThreshold } from '../src/pipeline/rerank/confidence.ts';
import { dataMask } from '../src/services/no-data.ts';
import { crop, warpAffine } from '../src/pipeline/rerank/warp.ts';
import { encodePng16, mulberry32, PROTOCOL } from './lib/queries.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const DATA = process.env.CMIR_DATA_DIR ?? path.join(import.meta.dirname, '..', '..', 'shared', 'data');
const SIZES = arg('n', '160').split(',').map(Number);
const NQ = Number(arg('queries', '24'));
/** Re-ranking configurations, each run on the same ingested repository: none, default, or kN (the default with topK N). */
const RERANKS = arg('rerank', 'none').split(',');
const KINDS = arg('kinds', 'whole,crop').split(',');
/** The K re-ranking would see (issue 17: default <= 30). */
const K = 30;
const DESCRIPTOR = arg('descriptor', 'learned');
/** Results file name in bench/results (several runs can keep theirs side by side). */
const OUT = arg('out', 'scale-retrieval');
/**
 * Keep each ingested repository in this folder (one home per N and descriptor) and reuse it on the next run: ingestion
 * (0.3-0.5 images/s) dominates a run's time. Unset: a temporary in-memory repository per N.
 */
const KEEP = arg('home', '');

interface Pair { id: string; rgb: string; nir: string; split: string }
const rows = (await readFile(path.join(DATA, 'vis-nir', 'pairs.csv'), 'utf8')).trim().split(/\r?\n/);
const cols = rows[0].split(',');
const pairs: Pair[] = rows.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])) as unknown as Pair);
const test = pairs.filter((p) => p.split === 'test');
const spread = <T>(l: T[], n: number) => Array.from({ length: Math.min(n, l.length) }, (_, i) => l[Math.floor((i * l.length) / Math.min(n, l.length))]);
const queryPairs = spread(test, NQ);
const decode = async (f: string) => (await decodeImage(await readFile(path.join(DATA, 'vis-nir', f)), { maxPixels: 1e9 })).image;

/** A distractor: a random crop of 25-100 % of the side, rotated within +-30 degrees, of an image not queried. */
function distractor(src: PlanarImage, random: () => number): PlanarImage {
  const f = 0.25 + 0.75 * random();
  const w = Math.max(64, Math.round(src.width * f)), h = Math.max(64, Math.round(src.height * f));
  const x = Math.floor(random() * (src.width - w + 1)), y = Math.floor(random() * (src.height - h + 1));
  const part = crop(src, { x, y, width: w, height: h });
  return warpAffine(part, rigidAbout((random() * 2 - 1) * 30, (w - 1) / 2, (h - 1) / 2, 0, 0));
}

const pct = (v: number[], p: number) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0; };
const r1 = (v: number) => Math.round(v * 10) / 10;

const out: { rows: Record<string, unknown>[]; ingest: Record<string, unknown>[]; confidence: Record<string, unknown>[]; created: string; notes: string[] } = {
  rows: [], ingest: [], confidence: [], created: new Date().toISOString(),
  notes: [`rerank: ${RERANKS.join(', ')} (none = the first stage alone; default = the cascade, docs/adr/0016; kN = all of topK N re-ranked)`, `window descriptor: ${DESCRIPTOR}`, 'direction NIR->RGB; queries: the NIR file as is (its real warp, black fill declared as noDataValue 0) and its centre 30 % crop'],
};
async function save() {
  const dir = path.join(import.meta.dirname, 'results');
  await writeFile(path.join(dir, `${OUT}.json`), JSON.stringify(out, null, 2) + '\n');
  const md = [
    '# Vector first stage at scale (`npm run bench:scale-retrieval`)', '', `Created ${out.created}. ${out.notes.join('. ')}.`, '',
    '| dataset | direction | query | N | queries | rerank | Acc@1 | Acc@10 | first-stage recall@30 / @100 / @200 | p50 ms | p95 ms | p50 representation / first stage / rerank ms | re-ranked (mean) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...out.rows.map((r: any) => `| ${r.dataset} | ${r.direction} | ${r.query} | ${r.n} | ${r.queries} | ${r.rerank} | ${r.acc[1]} | ${r.acc[10]} | ${r.firstStageRecall[30]} / ${r.firstStageRecall[100]} / ${r.firstStageRecall[200]} | ${r.p50Ms} | ${r.p95Ms} | ${r.stageP50Ms.representation} / ${r.stageP50Ms.firstStage} / ${r.stageP50Ms.rerank} | ${r.rerankedMean ?? ''} |`),
    ...(out.confidence.length ? ['', 'Top-1 at or above the default confidence threshold:', '', '| dataset | direction | query | N | rerank | threshold | precision % | coverage % |', '|---|---|---|---|---|---|---|---|',
    ...out.confidence.map((c: any) => `| ${c.dataset} | ${c.direction} | ${c.query} | ${c.n} | ${c.rerank ?? ''} | ${c.threshold} | ${c.precision} | ${c.coverage} |`)] : []),
  '', '| N | images/s ingested | RSS MB |', '|---|---|---|', ...out.ingest.map((i: any) => `| ${i.n} | ${i.imagesPerSecond} | ${i.peakRssMb} |`), '',
  ];
  await writeFile(path.join(dir, `${OUT}.md`), md.join('\n'));
}

for (const n of SIZES) {
  const home = KEEP ? path.resolve(KEEP, `n${n}-${DESCRIPTOR}`) : await mkdtemp(path.join(os.tmpdir(), 'cmir-scale-'));
  await mkdir(home, { recursive: true });
  const kept = KEEP ? path.join(home, 'ingested.json') : null;
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: '' };
  if (DESCRIPTOR === 'box') {
    // the shipped models less their learned window descriptor
    const models = path.join(home, 'models');
    await cp(path.join(import.meta.dirname, '..', 'models'), models, { recursive: true });
    for (const pair of ['vis-nir', 'shg-bf']) {
      const file = path.join(models, pair, 'manifest.json');
      const manifest = JSON.parse(await readFile(file, 'utf8'));
      delete manifest.window_descriptor;
      await writeFile(file, JSON.stringify(manifest, null, 2));
    }
    env.CMIR_MODELS_DIR = models;
  }
  const app = await createApp(loadConfig({ home }, env), { memory: !KEEP });
  try {
    const t0 = performance.now();
    const idOf = new Map<string, number>();
    const reused = kept ? ((await readFile(kept, 'utf8').then(JSON.parse).catch(() => null)) as { ids: [string, number][]; ingest: Record<string, unknown> } | null) : null;
    if (reused) {
      for (const [k, v] of reused.ids) idOf.set(k, v);
      out.ingest.push({ ...reused.ingest, reused: true });
    } else {
      for (const p of test.slice(0, n)) idOf.set(p.id, (await app.services.images.ingest({ data: await readFile(path.join(DATA, 'vis-nir', p.rgb)), fileName: p.id, modality: 'RGB' })).id);
      const random = mulberry32(17);
      const others = pairs.filter((p) => !queryPairs.includes(p));
      for (let k = test.length; k < n; k++) {
        const src = await decode(others[Math.floor(random() * others.length)].rgb);
        await app.services.images.ingest({ data: await encodePng16(distractor(src, random)), fileName: `d${k}`, modality: 'RGB' });
      }
      const ingestSeconds = (performance.now() - t0) / 1000;
      out.ingest.push({ n, imagesPerSecond: r1(n / ingestSeconds), peakRssMb: Math.round(process.memoryUsage().rss / 2 ** 20) });
      if (kept) await writeFile(kept, JSON.stringify({ ids: [...idOf], ingest: out.ingest.at(-1) }));
    }
    for (const RERANK of RERANKS) for (const kind of KINDS) {
      const ranks: number[] = [];
      const tops: { confidence: number; right: boolean; threshold: number; top: number[] }[] = [];
      const firstRanks: number[] = [];
      /** How many candidates each search re-ranked (the cascade stops early: docs/adr/0016). */
      const reranked: number[] = [];
      const nirModality = (await app.services.representations.modalityByName('NIR'))!, rgbModality = (await app.services.representations.modalityByName('RGB'))!;
      const times: Record<string, number[]> = { total: [], representation: [], firstStage: [], rerank: [] };
      for (const p of queryPairs) {
        const nir = await readFile(path.join(DATA, 'vis-nir', p.nir));
        const data = kind === 'whole' ? nir : await (async () => {
          const img = await decode(p.nir);
          const cw = Math.round(img.width * PROTOCOL.cropFraction), ch = Math.round(img.height * PROTOCOL.cropFraction);
          return encodePng16(crop(img, { x: Math.floor((img.width - cw) / 2), y: Math.floor((img.height - ch) / 2), width: cw, height: ch }));
        })();
        const res = await app.services.search.search({
          data, modality: 'NIR', target: 'RGB', first: 100, noDataValue: kind === 'whole' ? 0 : null,
          rerank: RERANK === 'none' ? { mode: 'none' } : RERANK.startsWith('k') ? { topK: Number(RERANK.slice(1)) } : null,
        });
        const rank = res.matches.findIndex((m) => m.imageId === idOf.get(p.id));
        ranks.push(rank < 0 ? Infinity : rank + 1);
        reranked.push(RERANK === 'none' ? 0 : res.matches.length);
        tops.push({ confidence: res.matches[0]?.confidence ?? 0, right: rank === 0, threshold: res.confidenceThreshold, top: res.matches.slice(0, 2).map((m) => m.score) });
        // the first stage's own ranking, past the 100 a search returns (recall at the K re-ranking would see)
        const query = await decodeImage(data, { maxPixels: 1e9 });
        const comir = await app.services.representations.compute(nirModality, query.image);
        const valid = kind === 'whole' ? dataMask(query.image, 0, query.info.bitDepth, 'query') : null;
        const hits = await app.services.embeddings.rank(valid ? markNoData(comir, valid) : comir, rgbModality, 30);
        const f = hits.findIndex((h) => h.entryId === idOf.get(p.id));
        firstRanks.push(f < 0 ? Infinity : f + 1);
        for (const s of Object.keys(times)) times[s].push(res.timings[s as keyof typeof res.timings]);
      }
      const at = (k: number) => r1((100 * ranks.filter((r) => r <= k).length) / ranks.length);
      const firstAt = (k: number) => r1((100 * firstRanks.filter((r) => r <= k).length) / firstRanks.length);
      const row = {
        dataset: 'vis-nir', direction: 'NIR->RGB', query: kind, n, queries: ranks.length, rerank: RERANK,
        acc: { 1: at(1), 10: at(10) }, recallAtK: firstAt(K), k: K, firstStageRecall: { 30: firstAt(30), 100: firstAt(100), 200: firstAt(200) },
        p50Ms: Math.round(pct(times.total, 50)), p95Ms: Math.round(pct(times.total, 95)),
        stageP50Ms: Object.fromEntries(Object.entries(times).map(([s, v]) => [s, Math.round(pct(v, 50))])),
        rerankedMean: r1(reranked.reduce((a, b) => a + b, 0) / reranked.length),
        ranks, firstRanks, tops: tops.map((t) => t.top.map((v) => Math.round(v * 1e5) / 1e5)),
      };
      out.rows.push(row);
      if (RERANK !== 'none' && tops.length > 0) {
        // top-1 answers at or above the shipped threshold (the target model pair's manifest `search.confidence`)
        const threshold = tops[0].threshold;
        const { precision, coverage } = atThreshold(tops, threshold);
        out.confidence.push({ dataset: 'vis-nir', direction: 'NIR->RGB', query: kind, n, rerank: RERANK, threshold: Math.round(threshold * 1000) / 1000, precision: r1(100 * precision), coverage: r1(100 * coverage) });
      }
      console.log(JSON.stringify({ ...row, ranks: undefined }));
    }
  } finally {
    await app.close();
    if (!KEEP) await rm(home, { recursive: true, force: true });
  }
  // after every size, so a long run that is stopped keeps what it measured
  await save();
}
