/**
 * npm run bench:fft — the project's radix-2 FFT (src/pipeline/rerank/fft.ts) against maintained npm FFTs, at the sizes
 * dense correlation uses (64, 128, 256 squared). Each implementation does the same work: a full forward 2-D FFT of one
 * N x N complex array (rows, transpose, rows, transpose back), out of its input, in its own precision and layout:
 *   ours       fft2, float64, split re/im (in place, so each run first copies the input into its buffers)
 *   fft.js     4.0.4 radix-4 transform(), float64, interleaved
 *   pffft      @echogarden/pffft-wasm pffft_transform_ordered, float32, interleaved, WASM (SIMD build and plain build)
 *   kissfft    @echogarden/kissfft-wasm kiss_fft, float32, interleaved, WASM
 * Also timed: ours realPairSpectra (spectra of two real N x N images through one packed complex transform).
 * Every library's spectrum is checked against ours on random input (max |difference| / max |ours|: < 1e-9 float64,
 * < 1e-4 float32); a mismatch aborts. Timing: per size, calibrate a loop to ~0.3 s, then 7 alternating rounds over the
 * implementations, median. Writes bench/results/fft.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fft2, realPairSpectra, type Spectrum } from '../src/pipeline/rerank/fft.ts';

const SIZES = [64, 128, 256], ROUNDS = 7, LOOP_S = 0.3;
const outDir = path.join(import.meta.dirname, 'results');

// The libraries ship no type declarations (and bench/ is type-checked): import by a string-typed name, describe what is used.
const load = (name: string): Promise<{ default: unknown }> => import(name);
type FftJs = new (n: number) => { transform(out: Float64Array, data: Float64Array): void };
interface Wasm {
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  [fn: `_${string}`]: (...args: number[]) => number;
}
const FFT = (await load('fft.js')).default as FftJs;
const wasm = async (name: string) => ((await load(name)).default as () => Promise<Wasm>)();
const [pffftSimd, pffftPlain, kiss] = await Promise.all([
  wasm('@echogarden/pffft-wasm/simd'),
  wasm('@echogarden/pffft-wasm'),
  wasm('@echogarden/kissfft-wasm'),
]);

/** One implementation at one size: load an input once, run the timed transform, read the spectrum back. */
interface Prepared {
  load(re: Float64Array, im: Float64Array): void;
  run(): void;
  result(): { re: ArrayLike<number>; im: ArrayLike<number> };
}
interface Impl {
  name: string;
  precision: 'float64' | 'float32';
  prepare(n: number): Prepared;
}

/** Interleaved transpose of an n x n complex array. */
function transpose(src: Float32Array | Float64Array, dst: Float32Array | Float64Array, n: number): void {
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const s = 2 * (y * n + x), d = 2 * (x * n + y);
      dst[d] = src[s];
      dst[d + 1] = src[s + 1];
    }
  }
}
const split = (z: ArrayLike<number>) => {
  const re = new Float64Array(z.length / 2), im = new Float64Array(z.length / 2);
  for (let i = 0; i < re.length; i++) [re[i], im[i]] = [z[2 * i], z[2 * i + 1]];
  return { re, im };
};

/** 2-D transform in WASM memory: rowFft(from, to) transforms n rows of n complex float32 from pointer to pointer. */
function wasmPrepared(m: Wasm, n: number, alloc: (bytes: number) => number, rowFft: (from: number, to: number) => void): Prepared {
  const bytes = 8 * n * n;
  const [pin, pout, ptmp] = [alloc(bytes), alloc(bytes), alloc(bytes)];
  const view = (p: number) => new Float32Array(m.HEAPF32.buffer, p, 2 * n * n); // after all allocations (memory may grow)
  const [vin, vout, vtmp] = [view(pin), view(pout), view(ptmp)];
  return {
    load(re, im) {
      for (let i = 0; i < re.length; i++) [vin[2 * i], vin[2 * i + 1]] = [re[i], im[i]];
    },
    run() {
      rowFft(pin, pout);
      transpose(vout, vtmp, n);
      rowFft(ptmp, pout);
      transpose(vout, vtmp, n);
    },
    result: () => split(vtmp),
  };
}

const pffft = (m: Wasm): Impl['prepare'] => (n) => {
  const setup = m._pffft_new_setup(n, 1 /* PFFFT_COMPLEX */), work = m._pffft_aligned_malloc(8 * n);
  return wasmPrepared(m, n, m._pffft_aligned_malloc, (from, to) => {
    for (let r = 0; r < n; r++) m._pffft_transform_ordered(setup, from + 8 * n * r, to + 8 * n * r, work, 0 /* FORWARD */);
  });
};

const impls: Impl[] = [
  {
    name: 'ours',
    precision: 'float64',
    prepare(n) {
      const input = { re: new Float64Array(n * n), im: new Float64Array(n * n) };
      const s: Spectrum = { width: n, height: n, re: new Float64Array(n * n), im: new Float64Array(n * n) };
      return {
        load: (re, im) => (input.re.set(re), input.im.set(im)),
        run() {
          s.re.set(input.re);
          s.im.set(input.im);
          fft2(s);
        },
        result: () => s,
      };
    },
  },
  {
    name: 'fft.js',
    precision: 'float64',
    prepare(n) {
      const f = new FFT(n);
      const [vin, vout, vtmp] = [0, 1, 2].map(() => new Float64Array(2 * n * n));
      const rows = (a: Float64Array) => Array.from({ length: n }, (_, r) => a.subarray(2 * n * r, 2 * n * (r + 1)));
      const [rin, rout, rtmp] = [rows(vin), rows(vout), rows(vtmp)];
      return {
        load(re, im) {
          for (let i = 0; i < re.length; i++) [vin[2 * i], vin[2 * i + 1]] = [re[i], im[i]];
        },
        run() {
          for (let r = 0; r < n; r++) f.transform(rout[r], rin[r]);
          transpose(vout, vtmp, n);
          for (let r = 0; r < n; r++) f.transform(rout[r], rtmp[r]);
          transpose(vout, vtmp, n);
        },
        result: () => split(vtmp),
      };
    },
  },
  { name: 'pffft', precision: 'float32', prepare: pffft(pffftSimd) },
  { name: 'pffft (no SIMD)', precision: 'float32', prepare: pffft(pffftPlain) },
  {
    name: 'kissfft',
    precision: 'float32',
    prepare(n) {
      const cfg = kiss._kiss_fft_alloc(n, 0, 0, 0);
      return wasmPrepared(kiss, n, kiss._malloc, (from, to) => {
        for (let r = 0; r < n; r++) kiss._kiss_fft(cfg, from + 8 * n * r, to + 8 * n * r);
      });
    },
  },
  {
    name: 'ours realPairSpectra (2 real images)',
    precision: 'float64',
    prepare(n) {
      const a = new Float64Array(n * n), b = new Float64Array(n * n);
      return {
        load: (re, im) => (a.set(re), b.set(im)),
        run: () => void realPairSpectra(a, b, n, n, n, n),
        result: () => ({ re: [], im: [] }), // not comparable to a complex spectrum; realPairSpectra is tested elsewhere
      };
    },
  },
];

// A small deterministic generator (mulberry32), values in [-1, 1).
let seed = 12345;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
};

function timeLoop(p: Prepared, iterations: number): number {
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) p.run();
  return (performance.now() - t0) / iterations;
}

interface Row { size: number; impl: string; precision: string; msPerTransform: number; ratioToOurs: number }
const rows: Row[] = [];
for (const n of SIZES) {
  const re = Float64Array.from({ length: n * n }, random), im = Float64Array.from({ length: n * n }, random);
  const prepared = impls.map((impl) => {
    const p = impl.prepare(n);
    p.load(re, im);
    for (let i = 0; i < 3; i++) p.run(); // warm-up (JIT, caches)
    return p;
  });

  // Check against ours.
  const ref = prepared[0].result();
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.hypot(ref.re[i], ref.im[i]));
  impls.forEach((impl, k) => {
    const got = prepared[k].result();
    if (k === 0 || got.re.length === 0) return;
    let diff = 0;
    for (let i = 0; i < n * n; i++) diff = Math.max(diff, Math.abs(got.re[i] - ref.re[i]), Math.abs(got.im[i] - ref.im[i]));
    const rel = diff / scale, limit = impl.precision === 'float64' ? 1e-9 : 1e-4;
    console.log(`${n}x${n} ${impl.name}: max |diff| / max |ours| = ${rel.toExponential(2)}`);
    if (!(rel < limit)) throw new Error(`${impl.name} at ${n}x${n} differs from ours: ${rel} >= ${limit}`);
  });

  // Calibrate each loop to ~LOOP_S, then alternate the implementations for ROUNDS rounds.
  const iterations = prepared.map((p) => Math.max(1, Math.ceil(LOOP_S / (timeLoop(p, 3) / 1000))));
  const runs: number[][] = impls.map(() => []);
  for (let r = 0; r < ROUNDS; r++) prepared.forEach((p, k) => runs[k].push(timeLoop(p, iterations[k])));
  const medians = runs.map((t) => t.sort((x, y) => x - y)[ROUNDS >> 1]);
  impls.forEach((impl, k) =>
    rows.push({ size: n, impl: impl.name, precision: impl.precision, msPerTransform: medians[k], ratioToOurs: medians[k] / medians[0] }),
  );
}

const machine = `${cpus()[0]?.model ?? 'unknown'} (${availableParallelism()} cores)`;
console.table(rows.map((r) => ({ ...r, msPerTransform: +r.msPerTransform.toFixed(3), ratioToOurs: +r.ratioToOurs.toFixed(2) })));
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'fft.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, machine, rows }, null, 2)}\n`);
const ms = (n: number, impl: string) => {
  const r = rows.find((x) => x.size === n && x.impl === impl)!;
  return impl === 'ours' ? r.msPerTransform.toFixed(3) : `${r.msPerTransform.toFixed(3)} (${r.ratioToOurs.toFixed(2)}x)`;
};
const md = [
  '# 2-D FFT: ours (src/pipeline/rerank/fft.ts) against npm libraries',
  '',
  `\`npm run bench:fft\` — ${new Date().toISOString()}, Node ${process.version}, ${machine}, shared machine. One forward 2-D ` +
    `complex FFT of an N x N array (rows, transpose, rows, transpose back), ms per transform: median of ${ROUNDS} alternating ` +
    `rounds of a loop of ~${LOOP_S} s; in brackets, time relative to ours (< 1: faster). Ours and fft.js are float64, pffft ` +
    '(SIMD WASM build) and kissfft float32 (WASM); every result checked against ours on random input.',
  '',
  '| size | ours ms | fft.js ms | pffft ms | kissfft ms |',
  '|---:|---:|---:|---:|---:|',
  ...SIZES.map((n) => `| ${n}x${n} | ${['ours', 'fft.js', 'pffft', 'kissfft'].map((i) => ms(n, i)).join(' | ')} |`),
  '',
  `pffft without SIMD: ${SIZES.map((n) => `${n}: ${ms(n, 'pffft (no SIMD)')}`).join(', ')} ms. Ours realPairSpectra ` +
    `(two real images, packed): ${SIZES.map((n) => `${n}: ${ms(n, 'ours realPairSpectra (2 real images)')}`).join(', ')} ms.`,
  '',
];
writeFileSync(path.join(outDir, 'fft.md'), md.join('\n'));
console.log(md.join('\n'));
