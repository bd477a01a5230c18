/**
 * npm run bench:vocabulary [-- descriptors words maxIterations] — vocabulary training time: by default 20,000 words
 * from 2,000,000 real dense SURF-64 descriptors (the strongest 80 % of those of generated 834x834 textures),
 * reference settings (k-means++ seeding, kd-tree 32 checks, <= 100 iterations, tolerance 1e-4), single thread.
 * Writes bench/results/vocabulary.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { denseSurf, type FeatureSet } from '../src/pipeline/surf.ts';
import { selectStrongest, trainVocabulary } from '../src/pipeline/vocabulary.ts';
import { texturedImage } from '../test/helpers/synthetic-images.ts';

const nDesc = Number(process.argv[2] ?? 2_000_000);
const words = Number(process.argv[3] ?? 20_000);
const maxIterations = Number(process.argv[4] ?? 100);

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
const iterTimes: number[] = [];
let last = performance.now();
const v = trainVocabulary(strongest, 64, {
  size: words, seed: 1, maxIterations,
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
  reseeded: r.reseeded,
};
console.log(JSON.stringify(row));
const meta = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, threads: 1 };
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/vocabulary.json', JSON.stringify({ meta, row, sse: r.sse }, null, 2) + '\n');
writeFileSync('bench/results/vocabulary.md', [
  '# Vocabulary training (`npm run bench:vocabulary`)', '',
  `${meta.date}, Node ${meta.node}, ${meta.cpu}, single thread. Real dense SURF-64 of generated 834x834 textures (strongest 80 %).`, '',
  '| descriptors | words | max it. | iterations | converged | seeding s | total s | s/iteration | last rel. SSE change |', '|---:|---:|---:|---:|---|---:|---:|---:|---:|',
  `| ${row.descriptors} | ${row.words} | ${maxIterations} | ${row.iterations} | ${row.converged} | ${row.seedingS} | ${row.trainS} | ${row.secondsPerIteration} | ${row.relativeSseChangeLast} |`, '',
].join('\n'));
