/**
 * npm run bench:correlate — dense correlation re-ranking (CORRELATE) of one query against many candidates on the
 * calling thread against worker threads (pipeline/rerank/correlate-pool.ts), side by side in one run (ABAB rounds, medians).
 * Sizes as vis-nir's whole queries at the working scale (a 1024 x 680 CoMIR seen at 1/16, here 256 x 170 at 1/4:
 * 64 x 42 px), poses as its default (+-30 degrees x scales 0.93, 1, 1.08: 39 views), synthetic textures. Also checks
 * that every thread count returns the same matches. Writes bench/results/correlate-threads.{json,md}.
 *
 *   npm run bench:correlate -- [--candidates 80] [--rounds 3] [--threads 2,4]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CorrelationPool } from '../src/pipeline/rerank/correlate-pool.ts';
import { type CorrelatedMatch, correlationPoses, downsample } from '../src/pipeline/rerank/correlate.ts';
import { rotatedView, texturedImage } from '../test/helpers/synthetic-images.ts';

const { values: args } = parseArgs({
  options: {
    candidates: { type: 'string', default: '80' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(Math.max(2, Math.min(8, availableParallelism()))) },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results') },
  },
});
const W = 256, H = 170;
const n = Number(args.candidates), rounds = Number(args.rounds);
const threadCounts = [1, ...args.threads!.split(',').map(Number).filter((t) => t > 1)];
const images = Array.from({ length: n }, (_, i) => texturedImage(W, H, 9000 + i));
const target = Math.floor(n / 2);
const query = rotatedView(images[target], W / 2 + 8, H / 2 - 5, 17, W, H, 1.05);
const opts = { largestCandidate: W, ...correlationPoses(30, 0.1) };

async function run(pool: CorrelationPool): Promise<{ ms: number; matches: CorrelatedMatch<number>[] }> {
  const t0 = performance.now();
  const s = pool.session([{ image: query, signal: 'value', weight: 1 }], opts);
  for (const [i, img] of images.entries()) s.add({ entryId: i, images: [downsample(img, s.factor)], width: W, height: H });
  const matches = await s.finish();
  return { ms: performance.now() - t0, matches };
}

const pools = new Map(threadCounts.map((t) => [t, new CorrelationPool(t)]));
const times = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
let reference: CorrelatedMatch<number>[] | null = null;
let identical = true;
for (const pool of pools.values()) await run(pool); // warm-up: workers start and compile (not timed)
for (let r = 0; r < rounds; r++) {
  for (const t of r % 2 ? [...threadCounts].reverse() : threadCounts) {
    const { ms, matches } = await run(pools.get(t)!);
    times.get(t)!.push(ms);
    if (reference === null) reference = matches;
    else if (JSON.stringify(matches) !== JSON.stringify(reference)) identical = false;
    console.log(`round ${r + 1} threads ${t}: ${(ms / 1000).toFixed(2)} s`);
  }
}
await Promise.all([...pools.values()].map((p) => p.close()));

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const base = median(times.get(1)!);
const rows = threadCounts.map((t) => ({ threads: t, medianMs: Math.round(median(times.get(t)!)), runsMs: times.get(t)!.map(Math.round), speedup: +(base / median(times.get(t)!)).toFixed(2) }));
const best = [...reference!].sort((a, b) => b.score - a.score)[0];
const result = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown'} (${availableParallelism()} cores)`,
  node: process.version,
  candidates: n,
  poses: opts.angles.length * opts.scales.length,
  workingSize: `${Math.floor(W / 4)} x ${Math.floor(H / 4)}`,
  rounds,
  identicalMatches: identical,
  found: best.entryId === target,
  rows,
};
mkdirSync(args.out!, { recursive: true });
writeFileSync(path.join(args.out!, 'correlate-threads.json'), `${JSON.stringify(result, null, 2)}\n`);
const md = [
  '# Dense correlation: calling thread against worker threads',
  '',
  `\`npm run bench:correlate\` — ${result.date}, Node ${result.node}, ${result.machine}. One query against ${n} candidates, ${result.poses} poses each, working scale ${result.workingSize}; ${rounds} alternating rounds after a warm-up, median. Matches identical across thread counts: ${identical ? 'yes' : 'NO'}; the query's source ranked first: ${result.found ? 'yes' : 'no'}.`,
  '',
  '| threads | median per query (ms) | runs (ms) | speed-up |',
  '|---:|---:|---|---:|',
  ...rows.map((r) => `| ${r.threads === 1 ? '1 (calling thread)' : r.threads} | ${r.medianMs} | ${r.runsMs.join(', ')} | ${r.speedup.toFixed(2)} |`),
  '',
];
writeFileSync(path.join(args.out!, 'correlate-threads.md'), md.join('\n'));
console.log(md.join('\n'));
if (!identical) process.exitCode = 1;
