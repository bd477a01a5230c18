/**
 * npm run bench:features — dense SURF-64 throughput (descriptors/s, one core, main thread), upright and oriented,
 * on generated 512x512 and 834x834 textures. Writes bench/results/features.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { denseSurf } from '../src/pipeline/surf.ts';
import { texturedImage } from '../test/helpers/synthetic-images.ts';

const REPEATS = 5;
const rows: { size: number; variant: string; descriptors: number; msMedian: number; descriptorsPerSecond: number }[] = [];
for (const size of [512, 834]) {
  const img = texturedImage(size, size, 42);
  for (const oriented of [false, true]) {
    denseSurf(img, { oriented }); // warm-up (JIT)
    const times: number[] = [];
    let count = 0;
    for (let r = 0; r < REPEATS; r++) {
      const t = performance.now();
      count = denseSurf(img, { oriented }).count;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(REPEATS / 2)];
    rows.push({ size, variant: oriented ? 'oriented' : 'upright', descriptors: count, msMedian: +ms.toFixed(1), descriptorsPerSecond: Math.round((count / ms) * 1000) });
    console.log(`${size}x${size} ${oriented ? 'oriented' : 'upright '}: ${count} descriptors in ${ms.toFixed(1)} ms = ${((count / ms) * 1000 / 1e6).toFixed(3)} M/s`);
  }
}
const meta = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, repeats: REPEATS, note: 'median of repeats after one warm-up; single thread' };
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/features.json', JSON.stringify({ meta, rows }, null, 2) + '\n');
writeFileSync('bench/results/features.md', [
  '# Dense SURF-64 throughput (`npm run bench:features`)', '',
  `${meta.date}, Node ${meta.node}, ${meta.cpu}, one thread, median of ${REPEATS}.`, '',
  '| image | variant | descriptors | ms | descriptors/s |', '|---|---|---:|---:|---:|',
  ...rows.map((r) => `| ${r.size}x${r.size} | ${r.variant} | ${r.descriptors} | ${r.msMedian} | ${r.descriptorsPerSecond.toLocaleString('en-US')} |`), '',
].join('\n'));
