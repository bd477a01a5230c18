/**
 * npm run bench:vocabulary [-- descriptors words maxIterations threads compareIterations] — vocabulary training time:
 * by default 20,000 words from 2,000,000 real dense SURF-64 descriptors (the strongest 80 % of those of generated
 * 834x834 textures), reference settings (k-means++ seeding, kd-tree 32 checks, <= 100 iterations, tolerance 1e-4),
 * `threads` assignment threads (default: all cores).
 * First, unless compareIterations is 0 (default 3), the same first iterations run with 1 thread and with `threads`
 * threads side by side (identical results by construction; the SSE of both is checked equal). Wall and process CPU
 * times are reported because this machine's 2 cores are shared: wall speed-up is bounded by what others leave free.
 * Writes bench/results/vocabulary.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { denseSurf, type FeatureSet } from '../src/pipeline/features/surf.ts';
import { defaultThreads } from '../src/pipeline/index/kmeans-pool.ts';
import { selectStrongest, trainVocabulary } from '../src/pipeline/index/vocabulary.ts';
import { texturedImage } from '../test/helpers/synthetic-images.ts';

const nDesc = Number(process.argv[2] ?? 2_000_000);
const words = Number(process.argv[3] ?? 20_000);
const maxIterations = Number(process.argv[4] ?? 100);
const threads = Number(process.argv[5] ?? defaultThreads());
const compareIterations = Number(process.argv[6] ?? 3);

const t0 = performance.now();
const sets: FeatureSet[] = [];
let total = 0;
for (let s = 1; total * 0.8 < nDesc; s++) {
  const f = denseSurf(texturedImage(834, 834, s));
  sets.push(f);
  total += f.count;
}
const strongest = selectStrongest(sets, 0.8).subarray(0, nDesc * 64);
sets.length = 0;
const extractMs = performance.now() - t0;
console.log(`${strongest.length / 64} descriptors (strongest 80 % of ${total}) in ${(extractMs / 1000).toFixed(1)} s`);

// side by side: 1 thread vs `threads`, same first iterations (seeding excluded from the per-iteration figures)
const compare: { threads: number; sPerIteration: number; cpuSPerIteration: number; sse: number }[] = [];
if (compareIterations > 0) {
  for (const t of [1, threads]) {
    let lastT = 0, lastC = 0;
    const its: { wall: number; cpu: number }[] = [];
    const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
    const c0 = cpu(), w0 = performance.now();
    const res = trainVocabulary(strongest, 64, {
      size: words, seed: 1, maxIterations: compareIterations + 1, threads: t,
      onProgress: () => { const w = performance.now(), c = cpu(); its.push({ wall: (w - lastT) / 1000, cpu: c - lastC }); lastT = w; lastC = c; },
    });
    // the first step includes seeding: average the others
    const rest = its.slice(1);
    compare.push({
      threads: res.report.threads, sse: res.report.sse.at(-1)!,
      sPerIteration: +(rest.reduce((a, b) => a + b.wall, 0) / rest.length).toFixed(2),
      cpuSPerIteration: +(rest.reduce((a, b) => a + b.cpu, 0) / rest.length).toFixed(2),
    });
    void c0; void w0;
    console.log(`compare: ${JSON.stringify(compare.at(-1))}`);
  }
  if (compare[0].sse !== compare[1].sse) throw new Error('1-thread and multi-thread SSE differ');
}

const iterTimes: number[] = [];
let last = performance.now();
const v = trainVocabulary(strongest, 64, {
  size: words, seed: 1, maxIterations, threads,
  onProgress: (it) => {
    const now = performance.now();
    iterTimes.push(now - last);
    last = now;
    console.log(`iteration ${it}: ${((now - t0 - extractMs) / 1000).toFixed(1)} s`);
  },
});
const r = v.report;
const perIt = iterTimes.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, iterTimes.length - 1);
const row = {
  descriptors: strongest.length / 64, words: v.size, maxIterations, iterations: r.iterations, converged: r.converged,
  seedingS: +(r.seedingMs / 1000).toFixed(1), trainS: +(r.totalMs / 1000).toFixed(1), secondsPerIteration: +(perIt / 1000).toFixed(2),
  relativeSseChangeLast: r.sse.length > 1 ? +(Math.abs(r.sse.at(-2)! - r.sse.at(-1)!) / r.sse.at(-2)!).toExponential(2) : null,
  reseeded: r.reseeded, threads: r.threads,
};
console.log(JSON.stringify(row));
const meta = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, threads: r.threads };
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/vocabulary.json', JSON.stringify({ meta, row, compare, sse: r.sse }, null, 2) + '\n');
writeFileSync('bench/results/vocabulary.md', [
  '# Vocabulary training (`npm run bench:vocabulary`)', '',
  `${meta.date}, Node ${meta.node}, ${meta.cpu}, ${meta.cores} cores (shared with other jobs), ${row.threads} assignment thread(s). Real dense SURF-64 of generated 834x834 textures (strongest 80 %).`, '',
  '| descriptors | words | max it. | iterations | converged | seeding s | total s | s/iteration | last rel. SSE change |', '|---:|---:|---:|---:|---|---:|---:|---:|---:|',
  `| ${row.descriptors} | ${row.words} | ${maxIterations} | ${row.iterations} | ${row.converged} | ${row.seedingS} | ${row.trainS} | ${row.secondsPerIteration} | ${row.relativeSseChangeLast} |`, '',
  ...(compare.length > 0 ? [
    `Side by side, same run, iterations 2-${compareIterations + 1} (identical SSE ${compare[0].sse.toFixed(1)}):`, '',
    '| threads | wall s/iteration | CPU s/iteration |', '|---:|---:|---:|',
    ...compare.map((c) => `| ${c.threads} | ${c.sPerIteration} | ${c.cpuSPerIteration} |`), '',
  ] : []),
].join('\n'));
