/**
 * The vector first stage without a database (docs/adr/0011, 0015): all 160 vis-nir test pairs, the RGB CoMIRs as the
 * repository, the NIR file (its real warp, black fill as no data) and its centre 30 % crop as queries, exact cosine
 * search over every stored window (what HNSW approximates). Compares window describers side by side on the same CoMIRs:
 * the box vector and any number of model folders' learned descriptors.
 *
 *   npm run bench:first-stage -- [--models models/vis-nir,/tmp/other] [--queries 160] [--box no] [--out first-stage-offline]
 *     [--lattice 4x10,2x10]
 *
 * --lattice: query lattices to compare, each `<shifts>x<angle step>` (EmbeddingParams.shifts, angleStep; the shipped
 * 4x10 is 16 shifts x 7 angles x 2 sides = 224 query vectors for +-30 degrees).
 *
 * CoMIRs are cached in bench/.cache/first-stage-offline (git-ignored). Writes bench/results/<out>.json and .md.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadComirModel } from '../src/pipeline/comir/comir.ts';
import { decodeImage } from '../src/pipeline/decode/decode.ts';
import { markNoData } from '../src/pipeline/decode/nodata.ts';
import { BOX_DESCRIBER, EMBEDDING_PARAMS, queryVectors, type WindowDescriber, windowVectors } from '../src/pipeline/index/embedding.ts';
import { LearnedDescriber } from '../src/pipeline/index/window-descriptor.ts';
import { crop } from '../src/pipeline/rerank/warp.ts';
import type { GreyImage } from '../src/pipeline/types.ts';
import { dataMask } from '../src/services/no-data.ts';
import { PROTOCOL } from './lib/queries.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const DATA = path.join(process.env.CMIR_DATA_DIR ?? path.join(import.meta.dirname, '..', '..', 'shared', 'data'), 'vis-nir');
const MODELS = arg('models', path.join(import.meta.dirname, '..', 'models', 'vis-nir')).split(',');
const NQ = Number(arg('queries', '160'));
const OUT = arg('out', 'first-stage-offline');
const CACHE = path.join(import.meta.dirname, '.cache', 'first-stage-offline');
const KS = [1, 10, 30, 100];
const LATTICES = arg('lattice', `${EMBEDDING_PARAMS.shifts}x${EMBEDDING_PARAMS.angleStep}`).split(',').map((l) => {
  const [shifts, angleStep] = l.split('x').map(Number);
  return { name: l, params: { ...EMBEDDING_PARAMS, shifts, angleStep } };
});

const rows = (await readFile(path.join(DATA, 'pairs.csv'), 'utf8')).trim().split(/\r?\n/);
const cols = rows[0].split(',');
const test = rows.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]))).filter((r) => r.split === 'test');

// the shipped CoMIR networks (the first model folder's) compute every representation once
const model = await loadComirModel(MODELS[0], { intraOpNumThreads: 2 });
await mkdir(CACHE, { recursive: true });
async function comir(file: string, name: string, kind: 'whole' | 'crop' | 'repo'): Promise<GreyImage> {
  const key = path.join(CACHE, `${model.manifest.modalities.find((m) => m.name === name)!.sha256.slice(0, 12)}-${file.replace(/\W/g, '_')}-${kind}.f32`);
  const { image } = await decodeImage(await readFile(path.join(DATA, file)), { maxPixels: 1e9 });
  const px = kind === 'crop' ? (() => {
    const cw = Math.round(image.width * PROTOCOL.cropFraction), ch = Math.round(image.height * PROTOCOL.cropFraction);
    return crop(image, { x: Math.floor((image.width - cw) / 2), y: Math.floor((image.height - ch) / 2), width: cw, height: ch });
  })() : image;
  let out: GreyImage;
  if (existsSync(key)) {
    out = { width: px.width, height: px.height, data: new Float32Array((await readFile(key)).buffer.slice(0)) };
  } else {
    out = await model.representation(name, px);
    await writeFile(key, Buffer.from(out.data.buffer));
  }
  // the whole NIR file declares its black warp fill as no data (as the product's benchmark does)
  const valid = kind === 'whole' ? dataMask(px, 0, 8, 'query') : null;
  return valid ? markNoData(out, valid) : out;
}

const repo: GreyImage[] = [];
for (const r of test) repo.push(await comir(r.rgb, 'rgb', 'repo'));
const queryRows = Array.from({ length: Math.min(NQ, test.length) }, (_, i) => Math.floor((i * test.length) / Math.min(NQ, test.length)));
const queries: Record<'whole' | 'crop', GreyImage[]> = { whole: [], crop: [] };
for (const i of queryRows) for (const kind of ['whole', 'crop'] as const) queries[kind].push(await comir(test[i].nir, 'nir', kind));
console.log(`CoMIRs ready: ${repo.length} stored, ${queryRows.length} queries`);

const describers: [string, WindowDescriber][] = arg('box', 'yes') === 'no' ? [] : [['box 8 x 8', BOX_DESCRIBER]];
for (const dir of MODELS) {
  const m = await loadComirModel(dir);
  if (m.manifest.window_descriptor) describers.push([`learned ${m.manifest.window_descriptor.version} (${path.basename(dir)})`, await LearnedDescriber.load(dir, m.manifest.window_descriptor)]);
}

const result: { describer: string; lattice: string; queryVectors: number; query: string; n: number; queries: number; recall: Record<number, number>; ms: number }[] = [];
for (const [name, d] of describers) {
  const stored: { id: number; x: number; y: number; side: number; v: Float32Array }[] = [];
  for (const [id, img] of repo.entries()) for (const w of await windowVectors(img, d)) stored.push({ id, x: w.x, y: w.y, side: w.side, v: w.vector });
  const flat = new Float32Array(stored.length * 64);
  stored.forEach((s, i) => flat.set(s.v, i * 64));
  for (const lattice of LATTICES) for (const kind of ['whole', 'crop'] as const) {
    const t0 = performance.now();
    const ranks: number[] = [];
    let nVectors = 0;
    for (const [qi, q] of queries[kind].entries()) {
      const best = new Float32Array(repo.length).fill(-2);
      const qvs = await queryVectors(q, 30, d, lattice.params);
      nVectors += qvs.length;
      for (const qv of qvs) {
        for (let s = 0; s < stored.length; s++) {
          let dot = 0;
          for (let k = 0; k < 64; k++) dot += qv.vector[k] * flat[s * 64 + k];
          if (dot > best[stored[s].id]) best[stored[s].id] = dot;
        }
      }
      const truth = queryRows[qi];
      ranks.push(1 + [...best].filter((v) => v > best[truth]).length);
    }
    const recall = Object.fromEntries(KS.map((k) => [k, Math.round((1000 * ranks.filter((r) => r <= k).length) / ranks.length) / 10]));
    result.push({ describer: name, lattice: lattice.name, queryVectors: Math.round(nVectors / ranks.length), query: kind, n: repo.length, queries: ranks.length, recall, ms: Math.round((performance.now() - t0) / ranks.length) });
    console.log(JSON.stringify(result.at(-1)));
  }
}
const md = [
  '# First stage offline (`npm run bench:first-stage`)', '',
  `Created ${new Date().toISOString()}. vis-nir NIR->RGB, exact cosine over every stored window (no database), the shipped CoMIRs; whole = the NIR file with its real warp (black fill as no data), crop = its centre 30 %. Recall of the true image at K.`, '',
  '| describer | query lattice (shifts x angle step) | query vectors | query | N | queries | @1 | @10 | @30 | @100 |', '|---|---|---|---|---|---|---|---|---|---|',
  ...result.map((r) => `| ${r.describer} | ${r.lattice} | ${r.queryVectors} | ${r.query} | ${r.n} | ${r.queries} | ${r.recall[1]} | ${r.recall[10]} | ${r.recall[30]} | ${r.recall[100]} |`), '',
];
await writeFile(path.join(import.meta.dirname, 'results', `${OUT}.json`), JSON.stringify({ created: new Date().toISOString(), rows: result }, null, 2) + '\n');
await writeFile(path.join(import.meta.dirname, 'results', `${OUT}.md`), md.join('\n'));
