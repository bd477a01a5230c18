/**
 * npm run bench:features — dense SURF-64 throughput (descriptors/s, one core, main thread), upright and oriented,
 * on generated 512x512 and 834x834 textures, for the current implementation and, side by side in the same run and
 * interleaved, the frozen pre-optimisation implementation (test/unit/pipeline/frozen/surf-v0.ts), so that the speed-up
 * is a ratio measured under the same load (this machine's 2 cores are shared). Also checks that both give the same
 * descriptors. Writes bench/results/features.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { denseSurf } from '../src/pipeline/features/surf.ts';
import { texturedImage } from '../test/helpers/synthetic-images.ts';
import { denseSurf as frozenSurf } from '../test/unit/pipeline/frozen/surf-v0.ts';

const REPEATS = 7;
type Row = { size: number; variant: string; descriptors: number; msMedian: number; descriptorsPerSecond: number; frozenMsMedian: number; frozenDescriptorsPerSecond: number; speedup: number; maxAbsDiff: number };
const rows: Row[] = [];
const median = (t: number[]): number => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
for (const size of [512, 834]) {
  const img = texturedImage(size, size, 42);
  for (const oriented of [false, true]) {
    const a = denseSurf(img, { oriented }), b = frozenSurf(img, { oriented }); // warm-up (JIT) and equality check
    let maxAbsDiff = 0;
    for (let i = 0; i < a.descriptors.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a.descriptors[i] - b.descriptors[i]));
    const tNew: number[] = [], tOld: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      let t = performance.now();
      denseSurf(img, { oriented });
      tNew.push(performance.now() - t);
      t = performance.now();
      frozenSurf(img, { oriented });
      tOld.push(performance.now() - t);
    }
    const ms = median(tNew), msOld = median(tOld), count = a.count;
    const row: Row = {
      size, variant: oriented ? 'oriented' : 'upright', descriptors: count, msMedian: +ms.toFixed(1),
      descriptorsPerSecond: Math.round((count / ms) * 1000), frozenMsMedian: +msOld.toFixed(1),
      frozenDescriptorsPerSecond: Math.round((count / msOld) * 1000), speedup: +(msOld / ms).toFixed(2), maxAbsDiff,
    };
    rows.push(row);
    console.log(`${size}x${size} ${row.variant.padEnd(8)}: ${count} descriptors in ${ms.toFixed(1)} ms = ${(row.descriptorsPerSecond / 1e6).toFixed(3)} M/s `
      + `(frozen ${msOld.toFixed(1)} ms = ${(row.frozenDescriptorsPerSecond / 1e6).toFixed(3)} M/s; x${row.speedup}; max |diff| ${maxAbsDiff.toExponential(1)})`);
  }
}
const meta = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, repeats: REPEATS, note: 'median of repeats after one warm-up; single thread; new and frozen interleaved' };
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/features.json', JSON.stringify({ meta, rows }, null, 2) + '\n');
writeFileSync('bench/results/features.md', [
  '# Dense SURF-64 throughput (`npm run bench:features`)', '',
  `${meta.date}, Node ${meta.node}, ${meta.cpu} (${meta.cores} cores shared with other jobs), one thread, median of ${REPEATS}, `
  + 'current and frozen pre-optimisation implementation interleaved in the same run.', '',
  '| image | variant | descriptors | ms | descriptors/s | frozen ms | frozen descriptors/s | speed-up | max abs diff |', '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.size}x${r.size} | ${r.variant} | ${r.descriptors} | ${r.msMedian} | ${r.descriptorsPerSecond.toLocaleString('en-US')} | ${r.frozenMsMedian} | ${r.frozenDescriptorsPerSecond.toLocaleString('en-US')} | ${r.speedup} | ${r.maxAbsDiff.toExponential(1)} |`), '',
].join('\n'));
