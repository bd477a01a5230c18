import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FileStore } from '../../src/db/file-store.ts';
import { parseIiifRequest } from '../../src/pipeline/decode/iiif.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { IIIF_LIMITS } from '../../src/services/tile.service.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeImage } from '../helpers/images.ts';

/**
 * Deep-zoom tiles (IIIF Image API 3.0 level 1) over HTTP. The pyramidal TIFFs are put into the file store and given an
 * Image row directly (ingesting a whole-slide image is another item of the same issue); the PNG goes through the
 * ordinary ingestion.
 */

let app: TestApp;
let server: RunningServer;
let base: string;
let files: FileStore;

const W = 1500, H = 1000;
/** The 8-bit RGB source of the pyramid, raw: smooth at several scales and different in every place, so a tile cut or scaled from the wrong place does not match. */
let slideRaw: Buffer;
let slideId: number;
let pngId: number;
let png: Buffer;
let wideId: number;
let dimId: number;
let dimRaw: Uint16Array;
const DW = 600, DH = 400;

function slidePattern(): Buffer {
  const out = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      out[i] = Math.round(128 + 90 * Math.sin(x / 23) * Math.cos(y / 31) + 30 * Math.sin((x + y) / 200));
      out[i + 1] = Math.round((x * 255) / (W - 1));
      out[i + 2] = Math.round(127 + 120 * Math.sin(y / 57 + x / 400));
    }
  }
  return out;
}

const PYRAMID = { tile: true, pyramid: true, tileWidth: 256, tileHeight: 256, compression: 'lzw', xres: 20000, yres: 20000, resolutionUnit: 'cm' } as const;

/** Stores a file and its row without the ingestion pipeline (as a whole-slide ingestion would leave them). */
async function insert(data: Buffer, name: string, meta: { width: number; height: number; channels: number; bitDepth: number; format: string }, modalityId: number): Promise<number> {
  const { sha256 } = await files.put(data);
  const row = await app.db.prisma.image.create({ data: { name, modalityId, ...meta, page: 0, byteSize: data.length, sha256 } });
  return row.id;
}

beforeAll(async () => {
  app = await createTestApp();
  server = await startServer(app, 0, '127.0.0.1');
  base = `http://127.0.0.1:${server.port}`;
  files = new FileStore(path.join(app.home, 'files'));

  png = await makeImage({ width: 300, height: 200, channels: 3, seed: 3 });
  const ingested = await app.services.images.ingest({ data: png, fileName: 'small.png', modality: 'BF' });
  pngId = ingested.id;

  slideRaw = slidePattern();
  const tiff = await sharp(slideRaw, { raw: { width: W, height: H, channels: 3 } }).tiff(PYRAMID).toBuffer();
  slideId = await insert(tiff, 'slide', { width: W, height: H, channels: 3, bitDepth: 8, format: 'tiff' }, ingested.modalityId);

  // wider than maxWidth, so `max` must be confined and explicit sizes over the limit refused
  const wide = await makeImage({ width: 4200, height: 60, seed: 9 });
  wideId = await insert(wide, 'wide', { width: 4200, height: 60, channels: 1, bitDepth: 8, format: 'png' }, ingested.modalityId);

  // a dim 16-bit grey pyramid (SHG-like: samples 500..3500 of 65535), brighter to the right
  dimRaw = new Uint16Array(DW * DH);
  for (let y = 0; y < DH; y++) for (let x = 0; x < DW; x++) dimRaw[y * DW + x] = Math.round(500 + (2500 * x) / (DW - 1) + 500 * Math.sin(y / 13) * Math.sin(x / 17));
  const dim = await sharp(dimRaw, { raw: { width: DW, height: DH, channels: 1 } }).toColourspace('grey16').tiff(PYRAMID).toBuffer();
  dimId = await insert(dim, 'dim', { width: DW, height: DH, channels: 1, bitDepth: 16, format: 'tiff' }, ingested.modalityId);
});
afterAll(async () => {
  await server?.stop();
  await app?.close();
});

const get = (p: string, headers: Record<string, string> = {}) => fetch(`${base}${p}`, { headers, redirect: 'manual' });

async function pixels(res: Response): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  expect(res.status).toBe(200);
  const body = sharp(Buffer.from(await res.arrayBuffer()));
  // as encoded (sharp would turn a grey file into sRGB on output)
  const channels = (await body.metadata()).channels;
  const { data, info } = await body.toColourspace(channels === 1 ? 'b-w' : 'srgb').raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(channels);
  return { data, width: info.width, height: info.height, channels };
}

/** The same region cut (and scaled) from the 8-bit source with sharp. */
async function expected(region: [number, number, number, number], size?: [number, number]): Promise<Buffer> {
  let p = sharp(slideRaw, { raw: { width: W, height: H, channels: 3 } }).extract({ left: region[0], top: region[1], width: region[2], height: region[3] });
  if (size) p = p.resize(size[0], size[1], { fit: 'fill' });
  return p.raw().toBuffer();
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function errorOf(p: string): Promise<{ status: number; code: string; message: string; cors: string | null }> {
  const res = await get(p);
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, code: body.error.code, message: body.error.message, cors: res.headers.get('access-control-allow-origin') };
}

describe('info.json', () => {
  test('describes the pyramid: size, tiles and scale factors down to one tile, level 1, limits', async () => {
    const res = await get(`/iiif/3/${slideId}/info.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const info = (await res.json()) as any;
    expect(info).toMatchObject({
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: `${base}/iiif/3/${slideId}`,
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level1',
      width: W,
      height: H,
      maxWidth: 4096,
      maxHeight: 4096,
      maxArea: IIIF_LIMITS.maxArea,
    });
    // 1500 / 8 = 188 fits one 256-px tile, 1500 / 4 does not
    expect(info.tiles).toEqual([{ width: 256, height: 256, scaleFactors: [1, 2, 4, 8] }]);
    expect(info.sizes).toEqual([
      { width: 188, height: 125 },
      { width: 375, height: 250 },
      { width: 750, height: 500 },
      { width: 1500, height: 1000 },
    ]);
    expect(info.extraFormats).toEqual(['png']);
  });

  test('a small image has the scale factors its size needs; an image over the limits lists only the sizes it serves', async () => {
    const small = (await (await get(`/iiif/3/${pngId}/info.json`)).json()) as any;
    expect(small).toMatchObject({ width: 300, height: 200, tiles: [{ width: 256, scaleFactors: [1, 2] }] });
    const wide = (await (await get(`/iiif/3/${wideId}/info.json`)).json()) as any;
    expect(wide.tiles[0].scaleFactors).toEqual([1, 2, 4, 8, 16, 32]);
    expect(wide.sizes.every((s: { width: number }) => s.width <= 4096)).toBe(true);
    expect(wide.sizes.at(-1)).toEqual({ width: 2100, height: 30 });
  });

  test('answers JSON-LD when asked, and the base URI redirects (303) to info.json', async () => {
    const ld = await get(`/iiif/3/${slideId}/info.json`, { accept: 'application/ld+json' });
    expect(ld.headers.get('content-type')).toBe('application/ld+json; profile="http://iiif.io/api/image/3/context.json"; charset=utf-8');
    const res = await get(`/iiif/3/${slideId}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${base}/iiif/3/${slideId}/info.json`);
  });
});

describe('tiles of a pyramidal TIFF', () => {
  test('a full-resolution tile as PNG is exactly the region of the source', async () => {
    const tile = await pixels(await get(`/iiif/3/${slideId}/256,512,256,256/256,256/0/default.png`));
    expect(tile).toMatchObject({ width: 256, height: 256, channels: 3 });
    expect(maxAbsDiff(tile.data, await expected([256, 512, 256, 256]))).toBe(0);
  });

  test('as JPEG it is the same region within JPEG error', async () => {
    const res = await get(`/iiif/3/${slideId}/768,256,256,256/256,/0/default.jpg`);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const tile = await pixels(res);
    expect(tile).toMatchObject({ width: 256, height: 256, channels: 3 });
    const want = await expected([768, 256, 256, 256]);
    expect(meanAbsDiff(tile.data, want)).toBeLessThan(3);
    // and not merely any smooth picture: the neighbouring tile differs from it by far more
    expect(meanAbsDiff(tile.data, await expected([1024, 256, 256, 256]))).toBeGreaterThan(15);
  });

  test('an edge tile is cropped to the image (region reaching past it, as viewers ask)', async () => {
    const tile = await pixels(await get(`/iiif/3/${slideId}/1280,768,256,256/220,232/0/default.png`));
    expect(tile).toMatchObject({ width: 220, height: 232 });
    expect(maxAbsDiff(tile.data, await expected([1280, 768, 220, 232]))).toBe(0);
  });

  test.each([
    ['level 2', [512, 512, 512, 488], [256, 244]],
    ['level 4', [0, 0, 1024, 1000], [256, 250]],
    ['level 4, right edge', [1024, 0, 476, 1000], [119, 250]],
    ['level 8, the whole image', [0, 0, 1500, 1000], [188, 125]],
    // read from the smallest level, 187 x 125 px (1500 / 8.02: not an exact eighth), off its pixel grid
    ['the smallest level, whole', [0, 0, 1500, 1000], [150, 100]],
    ['the smallest level, a region off its grid', [512, 256, 768, 512], [90, 60]],
  ] as const)('scaled tile at %s equals the source region scaled', async (_name, region, size) => {
    const tile = await pixels(await get(`/iiif/3/${slideId}/${region.join(',')}/${size.join(',')}/0/default.png`));
    expect(tile).toMatchObject({ width: size[0], height: size[1] });
    const want = await expected([...region], [...size]);
    expect(meanAbsDiff(tile.data, want)).toBeLessThan(2);
    // misplaced by a quarter of the tile would not pass
    const dx = Math.round(region[2] / 4), width = region[0] === 0 ? Math.min(region[2], W - dx) : region[2];
    const shifted = await expected([region[0] === 0 ? dx : region[0] - dx, region[1], width, region[3]], [...size]);
    expect(meanAbsDiff(tile.data, shifted)).toBeGreaterThan(5);
  });

  test('full/max is the whole image; square is its centred square; !w,h fits inside', async () => {
    const full = await pixels(await get(`/iiif/3/${slideId}/full/max/0/default.png`));
    expect(full).toMatchObject({ width: W, height: H });
    expect(maxAbsDiff(full.data, slideRaw)).toBe(0);
    const square = await pixels(await get(`/iiif/3/${slideId}/square/128,/0/default.png`));
    expect(square).toMatchObject({ width: 128, height: 128 });
    expect(meanAbsDiff(square.data, await expected([250, 0, 1000, 1000], [128, 128]))).toBeLessThan(3);
    const confined = await pixels(await get(`/iiif/3/${slideId}/full/!200,200/0/default.jpg`));
    expect(confined).toMatchObject({ width: 200, height: 133 });
    const byHeight = await pixels(await get(`/iiif/3/${slideId}/full/,100/0/default.jpg`));
    expect(byHeight).toMatchObject({ width: 150, height: 100 });
  });

  test('gray gives one channel (the luminance), color three', async () => {
    const gray = await pixels(await get(`/iiif/3/${slideId}/0,0,256,256/256,256/0/gray.png`));
    expect(gray.channels).toBe(1);
    const lum = await sharp(await expected([0, 0, 256, 256]), { raw: { width: 256, height: 256, channels: 3 } }).toColourspace('b-w').raw().toBuffer();
    expect(meanAbsDiff(gray.data, lum)).toBeLessThan(1);
    const color = await pixels(await get(`/iiif/3/${slideId}/0,0,256,256/256,256/0/color.png`));
    expect(color.channels).toBe(3);
  });
});

describe('tiles of plain images', () => {
  test('a PNG (ingested) is cut exactly; full/max is the file', async () => {
    const source = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const full = await pixels(await get(`/iiif/3/${pngId}/full/max/0/default.png`));
    expect(full).toMatchObject({ width: 300, height: 200, channels: source.info.channels });
    expect(maxAbsDiff(full.data, source.data)).toBe(0);
    const tile = await pixels(await get(`/iiif/3/${pngId}/256,0,256,256/44,200/0/default.png`));
    expect(tile).toMatchObject({ width: 44, height: 200 });
    const want = await sharp(png).extract({ left: 256, top: 0, width: 44, height: 200 }).raw().toBuffer();
    expect(maxAbsDiff(tile.data, want)).toBe(0);
    const half = await pixels(await get(`/iiif/3/${pngId}/full/150,100/0/default.png`));
    const wantHalf = await sharp(png).resize(150, 100, { fit: 'fill' }).raw().toBuffer();
    expect(meanAbsDiff(half.data, wantHalf)).toBeLessThan(1);
  });

  test('max is confined to maxWidth (4096) for an image wider than that', async () => {
    const res = await pixels(await get(`/iiif/3/${wideId}/full/max/0/default.jpg`));
    expect(res).toMatchObject({ width: 4096, height: 59 });
  });
});

describe('16-bit images', () => {
  test('are stretched with one contrast for the whole image, not one per tile', async () => {
    // the image's own 1st..99th percentiles map to 0..255 (the server measures them on its smallest level)
    const sorted = Array.from(dimRaw).sort((a, b) => a - b);
    const lo = sorted[Math.floor(0.01 * (sorted.length - 1))], hi = sorted[Math.floor(0.99 * (sorted.length - 1))];
    const stretch = (v: number) => Math.min(255, Math.max(0, Math.round(((v - lo) * 255) / (hi - lo))));
    for (const x of [0, 344]) {
      const tile = await pixels(await get(`/iiif/3/${dimId}/${x},0,256,256/256,256/0/default.png`));
      expect(tile).toMatchObject({ width: 256, height: 256, channels: 1 });
      const want = new Uint8Array(256 * 256);
      for (let y = 0; y < 256; y++) for (let i = 0; i < 256; i++) want[y * 256 + i] = stretch(dimRaw[y * DW + x + i]);
      expect(meanAbsDiff(tile.data, want)).toBeLessThan(3);
    }
    // the dim left tile stays darker than the bright right one
    const mean = async (x: number) => {
      const t = await pixels(await get(`/iiif/3/${dimId}/${x},0,256,256/64,64/0/default.jpg`));
      return t.data.reduce((s, v) => s + v, 0) / t.data.length;
    };
    expect((await mean(344)) - (await mean(0))).toBeGreaterThan(80);
  });
});

describe('errors', () => {
  test.each([
    ['region', `abc/max/0/default.jpg`, /region/],
    ['empty region', `0,0,0,10/max/0/default.jpg`, /non-zero/],
    ['region outside the image', `2000,0,10,10/max/0/default.jpg`, /outside/],
    ['pct region', `pct:0,0,50,50/max/0/default.jpg`, /level 1/],
    ['size', `full/abc/0/default.jpg`, /size/],
    ['zero size', `full/0,/0/default.jpg`, /size/],
    ['upscaling', `full/^max/0/default.jpg`, /upscaling/],
    ['size larger than the region', `0,0,256,256/512,/0/default.jpg`, /larger than the 256x256 region/],
    ['pct size', `full/pct:50/0/default.jpg`, /level 1/],
    ['rotation', `full/max/90/default.jpg`, /level 1/],
    ['mirroring', `full/max/!0/default.jpg`, /level 1/],
    ['bad rotation', `full/max/abc/default.jpg`, /rotation/],
    ['bitonal', `full/max/0/bitonal.jpg`, /level 1/],
    ['quality', `full/max/0/best.jpg`, /quality/],
    ['format', `full/max/0/default.gif`, /format/],
    ['no format', `full/max/0/default`, /format/],
  ])('bad %s is 400 BAD_USER_INPUT', async (_name, request, message) => {
    const e = await errorOf(`/iiif/3/${slideId}/${request}`);
    expect(e).toMatchObject({ status: 400, code: 'BAD_USER_INPUT', cors: '*' });
    expect(e.message).toMatch(message);
  });

  test('a size over the server limits is 400 naming them', async () => {
    const e = await errorOf(`/iiif/3/${wideId}/full/4200,/0/default.jpg`);
    expect(e).toMatchObject({ status: 400, code: 'BAD_USER_INPUT' });
    expect(e.message).toMatch(/maxWidth/);
  });

  test('an unknown image is 404 NOT_FOUND, for info.json and tiles', async () => {
    for (const p of ['/iiif/3/99999/info.json', '/iiif/3/99999/full/max/0/default.jpg', '/iiif/3/abc/info.json', '/iiif/3/0/0,0,10,10/10,/0/default.jpg']) {
      const e = await errorOf(p);
      expect(e).toMatchObject({ status: 404, code: 'NOT_FOUND', cors: '*' });
    }
  });
});

describe('caching', () => {
  test('tiles carry a strong ETag and immutable Cache-Control; If-None-Match answers 304', async () => {
    const p = `/iiif/3/${slideId}/0,0,512,512/256,256/0/default.jpg`;
    const res = await get(p);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const etag = res.headers.get('etag')!;
    const { sha256 } = await app.db.prisma.image.findUniqueOrThrow({ where: { id: slideId } });
    expect(etag).toMatch(new RegExp(`^"${sha256}-[A-Za-z0-9_-]{22}"$`));
    const again = await get(p, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
    expect(again.headers.get('etag')).toBe(etag);
    // another spelling of the same output has the same validator; another tile another one
    expect((await get(`/iiif/3/${slideId}/0,0,512,512/256,/0/default.jpg`, { 'if-none-match': `"x", ${etag}` })).status).toBe(304);
    const other = await get(`/iiif/3/${slideId}/512,0,512,512/256,256/0/default.jpg`, { 'if-none-match': etag });
    expect(other.status).toBe(200);
    expect(other.headers.get('etag')).not.toBe(etag);
    const png = await get(`/iiif/3/${slideId}/0,0,512,512/256,256/0/default.png`, { 'if-none-match': etag });
    expect(png.status).toBe(200);
  });

  test('a warm tile is served from memory without reading the file', async () => {
    const data = await makeImage({ width: 200, height: 150, seed: 21 });
    const id = await insert(data, 'gone', { width: 200, height: 150, channels: 1, bitDepth: 8, format: 'png' }, (await app.db.prisma.image.findUniqueOrThrow({ where: { id: pngId } })).modalityId);
    const p = `/iiif/3/${id}/0,0,100,100/100,100/0/default.png`;
    const cold = await get(p);
    expect(cold.status).toBe(200);
    const bytes = Buffer.from(await cold.arrayBuffer());
    const { sha256 } = await app.db.prisma.image.findUniqueOrThrow({ where: { id } });
    await files.remove(sha256);
    const warm = await get(p);
    expect(warm.status).toBe(200);
    expect(Buffer.from(await warm.arrayBuffer()).equals(bytes)).toBe(true);
    // a tile not rendered before needs the file, which is gone
    expect((await get(`/iiif/3/${id}/100,0,100,100/100,100/0/default.png`)).status).toBe(400);
  });
});

describe('parseIiifRequest', () => {
  const image = { width: 1000, height: 500 };
  const parse = (region: string, size: string, rotation = '0', quality = 'default', format = 'jpg') => parseIiifRequest({ region, size, rotation, quality, format }, image, IIIF_LIMITS);

  test('resolves regions and sizes to pixels, with one canonical spelling', () => {
    expect(parse('full', 'max')).toMatchObject({ region: { x: 0, y: 0, width: 1000, height: 500 }, width: 1000, height: 500 });
    expect(parse('full', 'max').canonical).toBe(parse('0,0,1000,500', '1000,500').canonical);
    expect(parse('square', '100,')).toMatchObject({ region: { x: 250, y: 0, width: 500, height: 500 }, width: 100, height: 100 });
    expect(parse('900,400,500,500', 'max')).toMatchObject({ region: { x: 900, y: 400, width: 100, height: 100 } });
    expect(parse('full', ',50')).toMatchObject({ width: 100, height: 50 });
    expect(parse('full', '!300,300')).toMatchObject({ width: 300, height: 150 });
    expect(parse('full', '!3000,3000')).toMatchObject({ width: 1000, height: 500 });
    expect(parse('full', '10,400')).toMatchObject({ width: 10, height: 400 });
    expect(parse('full', 'max', '0.0', 'gray', 'png')).toMatchObject({ rotation: 0, quality: 'gray', format: 'png' });
  });

  test('confines max to the limits, area included', () => {
    const big = { width: 10000, height: 10000 };
    const r = parseIiifRequest({ region: 'full', size: 'max', rotation: '0', quality: 'default', format: 'jpg' }, big, { maxWidth: 8000, maxHeight: 8000, maxArea: 1_000_000 });
    expect(r).toMatchObject({ width: 1000, height: 1000 });
  });

  test('refuses what level 1 does not need', () => {
    for (const [region, size, rotation] of [['pct:1,1,1,1', 'max', '0'], ['full', 'pct:50', '0'], ['full', '^max', '0'], ['full', 'max', '180'], ['full', '1001,', '0'], ['-1,0,1,1', 'max', '0'], ['0,0,1.5,1', 'max', '0']]) {
      expect(() => parse(region, size, rotation)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    }
  });
});
