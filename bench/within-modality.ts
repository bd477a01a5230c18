/**
 * Within-modality check of the retrieval engine (issue 3's acceptance run): repository = the SHG images of
 * ../shared/data/shg-bf, queries = the same images rigidly transformed (seeded), whole and as 30 % centre crops.
 * Reports Acc@1/5 and, for crops, the fraction whose returned region has IoU >= 0.5 with the true footprint.
 *
 *   npm run bench:within -- [--size 20000] [--rerank fast|verify|correlate|paper|none] [--oriented] [--limit N]
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { decodeImage } from '../src/pipeline/decode/decode.ts';
import { iouPolygons, iouRectPolygon } from '../src/pipeline/rerank/geometry.ts';
import { encodePng16, makeQueries, mulberry32 } from './lib/queries.ts';
import type { RerankMode } from '../src/services/search-settings.ts';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '20000' },
    rerank: { type: 'string', default: 'fast' },
    oriented: { type: 'boolean', default: false },
    comir: { type: 'boolean', default: false },
    limit: { type: 'string' },
    seed: { type: 'string', default: '7' },
    data: { type: 'string', default: process.env.CMIR_DATA_DIR ?? path.join(import.meta.dirname, '..', '..', 'shared', 'data') },
  },
});

const dataDir = path.join(args.data!, 'shg-bf');
const rows = (await readFile(path.join(dataDir, 'pairs.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
const files = rows.map((r) => ({ id: r[0], file: path.join(dataDir, r[4]) })).slice(0, args.limit ? Number(args.limit) : undefined);

const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-within-'));
// Raw grey pixels unless --comir: without models, SHG has no CoMIR (issue 3: "within one modality, no CoMIR needed").
const base = loadConfig({ home }, {});
const app = await createApp(args.comir ? base : { ...base, modelsDir: path.join(home, 'no-models') }, { memory: true });
try {
  const t0 = performance.now();
  const ids = new Map<number, string>();
  for (const f of files) {
    const image = await app.services.images.ingest({ data: await readFile(f.file), fileName: f.file, modality: 'SHG' });
    ids.set(image.id, f.id);
  }
  const t1 = performance.now();
  const job = await app.services.vocabularies.build('SHG', { size: Number(args.size), oriented: args.oriented });
  const built = await app.services.jobs.wait(job.id);
  if (built.state !== 'SUCCEEDED') throw new Error(`vocabulary build failed: ${built.error}`);
  const t2 = performance.now();

  const random = mulberry32(Number(args.seed));
  const results: { id: string; kind: string; rank: number; iou: number | null; degrees: number; ms: number }[] = [];
  for (const f of files) {
    const { image } = await decodeImage(await readFile(f.file), { maxPixels: 1e9 });
    const q = makeQueries(image, random);
    for (const query of [q.whole, q.crop]) {
      const res = await app.services.search.search({
        data: await encodePng16(query.image),
        modality: 'SHG',
        target: 'SHG',
        first: 10,
        rerank: { mode: args.rerank as RerankMode, topK: 30 },
      });
      const rank = res.matches.findIndex((m) => ids.get(m.imageId) === f.id) + 1;
      const hit = res.matches.find((m) => ids.get(m.imageId) === f.id);
      const iou = hit?.footprint ? iouPolygons(hit.footprint, query.footprint) : hit?.region ? iouRectPolygon(hit.region, query.footprint) : null;
      results.push({ id: f.id, kind: query.kind, rank, iou, degrees: q.degrees, ms: res.timings.total });
    }
  }
  const t3 = performance.now();
  const summary = Object.fromEntries(
    (['whole', 'crop'] as const).map((kind) => {
      const r = results.filter((x) => x.kind === kind);
      const acc = (k: number) => (100 * r.filter((x) => x.rank >= 1 && x.rank <= k).length) / r.length;
      const ious = r.filter((x) => x.iou !== null && x.rank === 1);
      return [kind, {
        n: r.length,
        acc1: acc(1),
        acc5: acc(5),
        acc10: acc(10),
        regionIoU50: (100 * r.filter((x) => x.rank === 1 && (x.iou ?? 0) >= 0.5).length) / r.length,
        medianIoU: ious.map((x) => x.iou!).sort((a, b) => a - b)[Math.floor(ious.length / 2)] ?? null,
        p50ms: r.map((x) => x.ms).sort((a, b) => a - b)[Math.floor(r.length / 2)],
      }];
    }),
  );
  const out = {
    dataset: 'shg-bf (SHG -> SHG, within modality)',
    rerank: args.rerank,
    oriented: args.oriented,
    representation: args.comir ? 'comir (shipped shg-bf model)' : 'raw grey',
    vocabulary: built.result,
    seconds: { ingest: (t1 - t0) / 1000, vocabulary: (t2 - t1) / 1000, queries: (t3 - t2) / 1000 },
    summary,
    misses: results.filter((x) => x.rank !== 1 || (x.kind === 'crop' && (x.iou ?? 0) < 0.5)),
  };
  console.log(JSON.stringify(out, null, 2));
  const dir = path.join(import.meta.dirname, 'results');
  await mkdir(dir, { recursive: true });
  const name = `within-shg-${args.rerank}${args.oriented ? '-oriented' : ''}${args.comir ? '-comir' : ''}`;
  await writeFile(path.join(dir, `${name}.json`), JSON.stringify(out, null, 2));
  await writeFile(
    path.join(dir, `${name}.md`),
    `# Within-modality retrieval, SHG (${files.length} images, ${out.representation}), rerank ${args.rerank}${args.oriented ? ', oriented SURF' : ''}\n\n` +
      `| queries | N | Acc@1 | Acc@5 | Acc@10 | region IoU>=0.5 | p50 ms |\n|---|---|---|---|---|---|---|\n` +
      Object.entries(summary).map(([k, s]) => `| ${k} | ${s.n} | ${s.acc1.toFixed(1)} | ${s.acc5.toFixed(1)} | ${s.acc10.toFixed(1)} | ${k === 'crop' ? s.regionIoU50.toFixed(1) : '-'} | ${s.p50ms.toFixed(0)} |`).join('\n') +
      `\n\nVocabulary: ${JSON.stringify(built.result)}; build ${out.seconds.vocabulary.toFixed(1)} s. Command: \`npm run bench:within -- --size ${args.size} --rerank ${args.rerank}${args.oriented ? ' --oriented' : ''}${args.comir ? ' --comir' : ''}\`\n`,
  );
} finally {
  await app.close();
  await rm(home, { recursive: true, force: true });
}
