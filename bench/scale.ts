/**
 * npm run bench:scale — first-stage query latency of the in-memory InvertedFile (exact paper-mode scoring) against
 * repository size, on synthetic histograms: vocabulary 20,000 words, word frequencies Zipf-like p(w) ~ 1/(w + 10),
 * 2,000-4,000 distinct words per image at 1k and 10k entries (an 834 px image has 43,264 descriptors); 100k entries
 * use 800-1,200 distinct words (256 px tiles have 4,096 descriptors) to keep memory sane (8 B per posting).
 * Queries: 50 histograms from the same distribution, 3,000 distinct words, first = 30.
 * Writes bench/results/scale.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { InvertedFile } from '../src/pipeline/index/inverted-index.ts';
import type { BowVector } from '../src/pipeline/types.ts';
import { rng } from '../test/helpers/synthetic-images.ts';

const V = 20000;
const QUERIES = 50;
const configs = [
  { n: 1000, nnzMin: 2000, nnzMax: 4000 },
  { n: 10000, nnzMin: 2000, nnzMax: 4000 },
  { n: 100000, nnzMin: 800, nnzMax: 1200 },
];
const only = process.argv[2] ? Number(process.argv[2]) : undefined;

// Zipf-like sampler via the inverse CDF of p(w) ~ 1/(w + 10)
const cdf = new Float64Array(V);
{
  let s = 0;
  for (let w = 0; w < V; w++) cdf[w] = s += 1 / (w + 10);
  for (let w = 0; w < V; w++) cdf[w] /= s;
}
function draw(r: () => number): number {
  const u = r();
  let lo = 0, hi = V - 1;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (cdf[m] < u) lo = m + 1;
    else hi = m;
  }
  return lo;
}
const counts = new Float32Array(V);
function histogram(r: () => number, nnz: number): BowVector {
  const ids: number[] = [];
  while (ids.length < nnz) {
    const w = draw(r);
    if (counts[w] === 0) ids.push(w);
    counts[w] += 1;
  }
  ids.sort((a, b) => a - b);
  const out = { ids: Uint32Array.from(ids), counts: Float32Array.from(ids, (w) => counts[w]) };
  for (const w of ids) counts[w] = 0;
  return out;
}

const rows: Record<string, number>[] = [];
for (const cfg of configs) {
  if (only && cfg.n !== only) continue;
  const r = rng(cfg.n);
  const inv = new InvertedFile<number>(V);
  const t0 = performance.now();
  for (let i = 0; i < cfg.n; i++) inv.add(i, histogram(r, cfg.nnzMin + Math.floor(r() * (cfg.nnzMax - cfg.nnzMin))));
  const buildMs = performance.now() - t0;
  const t1 = performance.now();
  inv.statistics(); // lazy idf + norms
  const statsMs = performance.now() - t1;
  const queries = Array.from({ length: QUERIES }, () => histogram(r, 3000));
  inv.query(queries[0], { first: 30 }); // warm-up
  const lat: number[] = [];
  let returned = 0;
  for (const q of queries) {
    const t = performance.now();
    returned += inv.query(q, { first: 30 }).length;
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const row = {
    entries: cfg.n, nnzPerEntry: (cfg.nnzMin + cfg.nnzMax) / 2, postings: inv.postings,
    buildMs: Math.round(buildMs), statsMs: Math.round(statsMs),
    p50Ms: +lat[Math.floor(0.5 * (QUERIES - 1))].toFixed(2), p95Ms: +lat[Math.floor(0.95 * (QUERIES - 1))].toFixed(2),
    meanResults: returned / QUERIES, rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const meta = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, vocabulary: V, queries: QUERIES, first: 30 };
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/scale.json', JSON.stringify({ meta, rows }, null, 2) + '\n');
writeFileSync('bench/results/scale.md', [
  '# First-stage query latency vs repository size (`npm run bench:scale`)', '',
  `${meta.date}, Node ${meta.node}, ${meta.cpu}. In-memory InvertedFile, exact paper-mode tf-idf cosine, ${V} words, Zipf-like`,
  `word frequencies, ${QUERIES} queries of 3,000 distinct words, first = 30. 100k entries use ~1k distinct words each (tiles).`, '',
  '| entries | distinct words/entry | postings | build ms | idf+norms ms | p50 ms | p95 ms | RSS MB |', '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((x) => `| ${x.entries} | ${x.nnzPerEntry} | ${x.postings} | ${x.buildMs} | ${x.statsMs} | ${x.p50Ms} | ${x.p95Ms} | ${x.rssMB} |`), '',
].join('\n'));
