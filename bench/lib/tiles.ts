/**
 * Deep-zoom tile latency over HTTP (IIIF Image API 3.0, src/services/tile.service.ts): what a viewer waits for. Asks
 * the image's info.json for its size and scale factors, picks `n` distinct tiles on its 256-px grid at random levels
 * (as OpenSeadragon names them: `x,y,w,h` in full-resolution pixels, `w,h` output), requests each once (cold: decoded
 * from the file) and then again in another random order (warm: the in-memory tile cache), one request at a time.
 */
import { performance } from 'node:perf_hooks';
import { mulberry32 } from './queries.ts';

export interface LatencyStats {
  p50: number;
  p95: number;
  mean: number;
  max: number;
}

export interface TileLatency {
  n: number;
  cold: LatencyStats;
  warm: LatencyStats;
  /** Mean encoded tile size, bytes. */
  meanBytes: number;
  /** Requests per scale factor (the random levels drawn). */
  levels: Record<number, number>;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function stats(ms: number[]): LatencyStats {
  const s = [...ms].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 10) / 10;
  return { p50: r(quantile(s, 0.5)), p95: r(quantile(s, 0.95)), mean: r(s.reduce((a, b) => a + b, 0) / s.length), max: r(s[s.length - 1]) };
}

/** `baseUrl`: the server's origin (http://host:port); `imageId`: the image's database id. */
export async function tileLatency(baseUrl: string, imageId: number, opts: { n: number; seed?: number; format?: 'jpg' | 'png' }): Promise<TileLatency> {
  const root = `${baseUrl.replace(/\/+$/, '')}/iiif/3/${imageId}`;
  const res = await fetch(`${root}/info.json`);
  if (!res.ok) throw new Error(`info.json: HTTP ${res.status} ${await res.text()}`);
  const info = (await res.json()) as { width: number; height: number; tiles: { width: number; scaleFactors: number[] }[] };
  const tile = info.tiles[0].width;
  const factors = info.tiles[0].scaleFactors;
  const random = mulberry32(opts.seed ?? 1);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];

  const total = factors.reduce((s, f) => s + Math.ceil(info.width / (tile * f)) * Math.ceil(info.height / (tile * f)), 0);
  const n = Math.min(opts.n, total);
  const chosen = new Map<string, number>();
  while (chosen.size < n) {
    const f = pick(factors);
    const span = tile * f;
    const col = Math.floor(random() * Math.ceil(info.width / span)), row = Math.floor(random() * Math.ceil(info.height / span));
    const x = col * span, y = row * span;
    const w = Math.min(span, info.width - x), h = Math.min(span, info.height - y);
    const url = `${root}/${x},${y},${w},${h}/${Math.ceil(w / f)},${Math.ceil(h / f)}/0/default.${opts.format ?? 'jpg'}`;
    if (!chosen.has(url)) chosen.set(url, f);
  }
  const urls = [...chosen.keys()];
  const levels: Record<number, number> = {};
  for (const f of chosen.values()) levels[f] = (levels[f] ?? 0) + 1;

  let bytes = 0;
  const time = async (url: string): Promise<number> => {
    const t0 = performance.now();
    const r = await fetch(url);
    const body = await r.arrayBuffer();
    const ms = performance.now() - t0;
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${Buffer.from(body).toString('utf8')}`);
    bytes += body.byteLength;
    return ms;
  };
  const cold: number[] = [];
  for (const url of urls) cold.push(await time(url));
  const shuffled = [...urls];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const warm: number[] = [];
  for (const url of shuffled) warm.push(await time(url));
  return { n, cold: stats(cold), warm: stats(warm), meanBytes: Math.round(bytes / (2 * n)), levels };
}
