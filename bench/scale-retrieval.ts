/**
 * The vector first stage at repository scale (issue 17): vis-nir test images of the target modality plus distractors
 * (random 25-100 % crops, rotated, of images that are not the query's pair), ingested through the product's services;
 * the protocol's queries (whole and 30 % crop) answered by `search.search`. Rows: Acc@1/@10 and recall@K of the
 * first stage (the true image among the K it hands to re-ranking), and per-stage latency.
 *
 *   npm run bench:scale-retrieval -- [--n 160,1000] [--queries 24] [--rerank none,default,k30] [--kinds whole,crop]
 *     [--descriptor learned|box] [--out scale-retrieval] [--home bench/.cache/scale-retrieval]
 *     [--distractors full|cached] [--database postgresql://...]
 *
 * --distractors cached: a distractor's CoMIR is the same crop and rotation of its source image's CoMIR (computed once
 * per source and cached in bench/.cache/comirs/vis-nir-rgb), instead of the network run on the cropped pixels; the
 * rest (decode, windows, vectors, rows, files) is the product's `images.ingest`. That makes 10,000 images fit a session
 * (the network is ~80 % of an ingestion). One repository then grows through the sizes given (the same distractors,
 * seeded, as --distractors full draws), and is measured at each. --database: a Postgres database instead of PGlite.
 *
 * --bulk (with --distractors cached and --database): pgvector's advice for an initial load (build the index after the
 * data): the HNSW index is dropped before the distractors are ingested, two ingestions run at a time (with
 * CMIR_PIPELINE_THREADS=2 their CoMIR and window vectors run on two worker threads), and the index is rebuilt with the
 * migration's own definition at the end of the growth, timed (indexBuildSeconds). Each ingestion is still the product's
 * `images.ingest`; only the HNSW insertions move to one build. An HNSW insertion was 550 of the 1,200 ms a cached
 * distractor took at N < 10 (measured on this machine, 587 windows per image).
 *
 * --descriptor box: the shipped models without their learned window descriptor (a copy of models/ whose manifests lack
 * `window_descriptor`), so the hand-made box vector describes the windows (docs/adr/0015).
 *
 * Writes bench/results/scale-retrieval.json and .md. Real data from CMIR_DATA_DIR (default ../shared/data).
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { AsyncLocalStorage } from 'node:async_hooks';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { DuplicateImageError } from '../src/errors.ts';
import { loadConfig } from '../src/config.ts';
import { decodeImage } from '../src/pipeline/decode/decode.ts';
import { rigidAbout } from '../src/pipeline/rerank/geometry.ts';
import type { GreyImage, PlanarImage } from '../src/pipeline/types.ts';
import { markNoData } from '../src/pipeline/decode/nodata.ts';
import { atThreshold } from '../src/pipeline/rerank/confidence.ts';
import { dataMask } from '../src/services/no-data.ts';
import { crop, warpAffine } from '../src/pipeline/rerank/warp.ts';
import { encodePng16, mulberry32, PROTOCOL, visNirQueries } from './lib/queries.ts';

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
const DISTRACTORS = arg('distractors', 'full');
const DATABASE = arg('database', '');
const BULK = process.argv.includes('--bulk');
if (BULK && !(DATABASE && process.argv.includes('cached'))) throw new Error('--bulk needs --distractors cached and --database');
/** The HNSW index of prisma/migrations/20261202000000_embedding, dropped and rebuilt by --bulk. */
const HNSW_INDEX = 'CREATE INDEX IF NOT EXISTS "Embedding_vec_hnsw" ON "Embedding" USING hnsw ("vec" vector_cosine_ops)';
/** Ingestions in flight with --bulk: two, one per core (the machine of these runs has two). */
const BULK_CONCURRENCY = 2;

const { pairs, test, queryPairs, decode } = await visNirQueries(DATA, NQ);

/** A distractor's pose: a random crop of 25-100 % of the side, rotated within +-30 degrees. */
function distractorPose(width: number, height: number, random: () => number) {
  const f = 0.25 + 0.75 * random();
  const w = Math.max(64, Math.round(width * f)), h = Math.max(64, Math.round(height * f));
  const x = Math.floor(random() * (width - w + 1)), y = Math.floor(random() * (height - h + 1));
  return { box: { x, y, width: w, height: h }, warp: rigidAbout((random() * 2 - 1) * 30, (w - 1) / 2, (h - 1) / 2, 0, 0) };
}
type Pose = ReturnType<typeof distractorPose>;
const posed = (src: PlanarImage, pose: Pose) => warpAffine(crop(src, pose.box), pose.warp);

/**
 * A distractor's CoMIR cut from its source's (--distractors cached): the same crop and rotation, the corners the
 * rotation leaves empty filled with the CoMIR of black (what the network gives the black corners of the posed pixels),
 * rounded to 16 bits like a stored CoMIR (ComirModel.representation).
 */
function posedComir(comir: GreyImage, pose: Pose, black: number): GreyImage {
  const inside = { width: comir.width, height: comir.height, channels: 1, data: new Float32Array(comir.data.length).fill(1) };
  const c = posed({ ...comir, channels: 1 }, pose), m = posed(inside, pose);
  const data = new Float32Array(c.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(1, Math.max(0, c.data[i] + black * (1 - m.data[i]))) * 65535) / 65535;
  return { width: c.width, height: c.height, data };
}

const pct = (v: number[], p: number) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0; };
const r1 = (v: number) => Math.round(v * 10) / 10;

const out: { rows: Record<string, unknown>[]; ingest: Record<string, unknown>[]; confidence: Record<string, unknown>[]; created: string; notes: string[] } = {
  rows: [], ingest: [], confidence: [], created: new Date().toISOString(),
  notes: [`rerank: ${RERANKS.join(', ')} (none = the first stage alone; default = the cascade, docs/adr/0016; kN = all of topK N re-ranked)`, `window descriptor: ${DESCRIPTOR}`,
    `distractors: ${DISTRACTORS}${DISTRACTORS === 'cached' ? ' (a distractor\'s CoMIR cut from its source\'s, see the header of bench/scale-retrieval.ts)' : ''}`, `database: ${DATABASE ? 'Postgres server' : 'PGlite'}`, 'direction NIR->RGB; queries: the NIR file as is (its real warp, black fill declared as noDataValue 0) and its centre 30 % crop'],
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
  '', '| N | images/s ingested | RSS MB | HNSW build s | windows | index MB | database MB |', '|---|---|---|---|---|---|---|',
  ...out.ingest.map((i: any) => `| ${i.n} | ${i.imagesPerSecond} | ${i.peakRssMb} | ${i.indexBuildSeconds ?? ''} | ${i.windows ?? ''} | ${i.indexMegabytes ?? ''} | ${i.dbMegabytes ?? ''} |`), '',
  ];
  await writeFile(path.join(dir, `${OUT}.md`), md.join('\n'));
}

/**
 * The CoMIR of each distractor source, computed once by the product's model and cached as raw float32 (with the CoMIR
 * of a black square's centre, what posed corners get) in bench/.cache/comirs/vis-nir-rgb.
 */
async function cachedComirs(app: Awaited<ReturnType<typeof createApp>>, rgb: NonNullable<Awaited<ReturnType<typeof app.services.representations.modalityByName>>>) {
  const dir = path.join(import.meta.dirname, '.cache', 'comirs', 'vis-nir-rgb');
  await mkdir(dir, { recursive: true });
  const blackSquare = { width: 64, height: 64, channels: 3, data: new Float32Array(64 * 64 * 3) };
  const blackComir = await app.services.representations.compute(rgb, blackSquare);
  const black = blackComir.data[32 * 64 + 32];
  const memo = new Map<string, GreyImage>();
  return async (file: string, src: PlanarImage) => {
    let comir = memo.get(file);
    if (!comir) {
      const f = path.join(dir, `${path.basename(file)}.${src.width}x${src.height}.f32`);
      const raw = await readFile(f).catch(() => null);
      if (raw) comir = { width: src.width, height: src.height, data: new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) };
      else {
        comir = await app.services.representations.compute(rgb, src);
        await writeFile(f, Buffer.from(comir.data.buffer, comir.data.byteOffset, comir.data.byteLength));
      }
      memo.set(file, comir);
    }
    return { comir, black };
  };
}

const GROW = DISTRACTORS === 'cached';
for (const n of SIZES) {
  // --distractors cached: one repository grows through the sizes; full: one repository per size
  const home = KEEP ? path.resolve(KEEP, GROW ? `cached-${DESCRIPTOR}` : `n${n}-${DESCRIPTOR}`) : await mkdtemp(path.join(os.tmpdir(), 'cmir-scale-'));
  await mkdir(home, { recursive: true });
  const kept = KEEP ? path.join(home, 'ingested.json') : null;
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: DATABASE };
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
  const app = await createApp(loadConfig({ home }, env), { memory: !KEEP && !DATABASE });
  try {
    const idOf = new Map<string, number>();
    type Kept = { ids: [string, number][]; count?: number; ingest: Record<string, unknown> };
    const reused = kept ? ((await readFile(kept, 'utf8').then(JSON.parse).catch(() => null)) as Kept | null) : null;
    for (const [k, v] of reused?.ids ?? []) idOf.set(k, v);
    const have = reused ? (reused.count ?? n) : 0;
    if (have >= n) {
      out.ingest.push({ ...reused!.ingest, n, reused: true });
    } else {
      const t0 = performance.now();
      if (BULK) await app.db.prisma.$executeRawUnsafe('DROP INDEX IF EXISTS "Embedding_vec_hnsw"');
      const inFlight = BULK ? BULK_CONCURRENCY : 1;
      /** Ingestions under way (--bulk: two at a time, while the next distractor is prepared on this thread). */
      const pending = new Set<Promise<unknown>>();
      const start = async (work: () => Promise<unknown>) => {
        while (pending.size >= inFlight) await Promise.race(pending);
        const p = work();
        pending.add(p);
        p.then(() => pending.delete(p), () => pending.delete(p));
      };
      const drain = () => Promise.all(pending);
      if (have === 0) {
        for (const p of test.slice(0, n)) {
          await start(async () => {
            const data = await readFile(path.join(DATA, 'vis-nir', p.rgb));
            const id = await app.services.images.ingest({ data, fileName: p.id, modality: 'RGB' }).then((i) => i.id, (e) => {
              if (e instanceof DuplicateImageError) return e.existingId;
              throw e;
            });
            idOf.set(p.id, id);
          });
        }
        await drain();
      }
      const random = mulberry32(17);
      const others = pairs.filter((p) => !queryPairs.includes(p));
      const sourceComir = GROW ? await cachedComirs(app, (await app.services.representations.modalityByName('RGB'))!) : null;
      const realCompute = app.services.representations.compute.bind(app.services.representations);
      /** The posed CoMIR of the distractor an ingestion is storing (several ingestions may be under way). */
      const posedFor = new AsyncLocalStorage<GreyImage>();
      if (GROW) {
        // the ingestion below takes the posed CoMIR instead of running the network on the posed pixels
        app.services.representations.compute = async (modality, pixels) => posedFor.getStore() ?? realCompute(modality, pixels);
      }
      const dims = new Map<string, { width: number; height: number }>();
      /** Decoded sources (--bulk: kept, ~190 of them; each distractor poses one). */
      const sources = new Map<string, PlanarImage>();
      for (let k = test.length; k < n; k++) {
        const source = others[Math.floor(random() * others.length)];
        if (k < have) {
          // already in the kept repository: replay the seeded draws only
          const d = dims.get(source.rgb) ?? (await decode(source.rgb));
          dims.set(source.rgb, { width: d.width, height: d.height });
          distractorPose(d.width, d.height, random);
          continue;
        }
        const src = sources.get(source.rgb) ?? (await decode(source.rgb));
        if (BULK) sources.set(source.rgb, src);
        dims.set(source.rgb, { width: src.width, height: src.height });
        const pose = distractorPose(src.width, src.height, random);
        const comir = sourceComir ? await sourceComir(source.rgb, src).then(({ comir, black }) => posedComir(comir, pose, black)) : null;
        const data = await encodePng16(posed(src, pose));
        const ingest = () => app.services.images.ingest({ data, fileName: `d${k}`, modality: 'RGB' }).catch((e) => {
          // stored before the last checkpoint was written (a run stopped between the two)
          if (!(e instanceof DuplicateImageError)) throw e;
        });
        await start(() => (comir ? posedFor.run(comir, ingest) : ingest()));
        if (GROW && kept && (k + 1) % 250 === 0) {
          await drain();
          await writeFile(kept, JSON.stringify({ ids: [...idOf], count: k + 1, ingest: { n: k + 1, partial: true } }));
          console.error(`ingested ${k + 1} of ${n} (${r1((k + 1 - have) / ((performance.now() - t0) / 1000))} images/s)`);
        }
      }
      await drain();
      app.services.representations.compute = realCompute;
      const ingestSeconds = (performance.now() - t0) / 1000;
      out.ingest.push({ n, from: have, distractors: DISTRACTORS, bulk: BULK, imagesPerSecond: r1((n - have) / ingestSeconds), peakRssMb: Math.round(process.memoryUsage().rss / 2 ** 20) });
      if (kept) await writeFile(kept, JSON.stringify({ ids: [...idOf], count: n, ingest: out.ingest.at(-1) }));
    }
    if (BULK) {
      // the HNSW index of the whole repository, built once (pgvector: faster than inserting into it row by row)
      const client = new pg.Client({ connectionString: DATABASE });
      await client.connect();
      try {
        const exists = (await client.query(`SELECT 1 FROM pg_indexes WHERE indexname = 'Embedding_vec_hnsw'`)).rowCount;
        const tb = performance.now();
        // 6 GB: the graph of ~6 million 64-dimensional vectors in memory (pgvector's build is much slower once it spills)
        await client.query(`SET maintenance_work_mem = '6GB'`);
        await client.query('SET max_parallel_maintenance_workers = 1'); // the leader and one worker: two cores
        await client.query(HNSW_INDEX);
        await client.query('ANALYZE "Embedding"');
        const sizes = (await client.query(`SELECT pg_database_size(current_database()) AS db, pg_relation_size('"Embedding_vec_hnsw"') AS idx, (SELECT count(*) FROM "Embedding") AS windows`)).rows[0];
        const last = out.ingest.at(-1)!;
        if (!exists) last.indexBuildSeconds = r1((performance.now() - tb) / 1000);
        Object.assign(last, { dbMegabytes: Math.round(Number(sizes.db) / 2 ** 20), indexMegabytes: Math.round(Number(sizes.idx) / 2 ** 20), windows: Number(sizes.windows) });
        console.error(JSON.stringify(last));
      } finally {
        await client.end();
      }
      await save();
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
