/**
 * Issue 19 ("Secure and robust"), the hostile-input sweep: several hundred inputs GENERATED here (seeded, so every
 * run sends the same bytes) and sent to a real running server, one test per input. Every one must
 *   - answer a typed error: a GraphQL `errors[0].extensions.code`, or a route's `{ error: { code } }`, from the codes
 *     the case expects, with an HTTP status below 500;
 *   - answer within CASE_MS;
 *   - show no stack trace and no path of the server (its working folder, its home, node_modules) in the body;
 *   - leave the server answering a query afterwards;
 *   - leave the image, modality and slide rows and the stored files as they were (checked after each case and again
 *     after each family).
 * A few inputs are valid files of an unusual kind (an RGBA or CMYK image, a 1 x 1 image, a byte flipped where a
 * decoder does not notice it): for those (`mayStore`) storing the image is a correct answer too, provided the image
 * and its file are stored together; the test then deletes it and checks that everything is as before.
 *
 * Families: files cut at many offsets (PNG 8 and 16 bit, JPEG, TIFF, WebP), corrupted files (bytes flipped in the
 * header and the body), empty and tiny files and wrong magic; decompression bombs and absurd declared sizes (over a
 * small CMIR_MAX_PIXELS); sample formats and channel counts; odd modality, slide, image and file names; server paths
 * (traversal, links out of CMIR_INGEST_ROOTS); oversized, malformed and mistyped bodies; query shapes (depth, aliases,
 * costly pages, tokens, introspection, bad ids and cursors) and keys. test/api/limits.test.ts and input-rules.test.ts
 * check the exact messages of some of these; this suite is the breadth sweep.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createKey } from '../helpers/auth.ts';
import { CAN_MKFIFO, cutOffsets, flipBytes, jpegDeclaring, makeFifo, makeSocket, pngDeclaring, randInt, seededRng, tiffDeclaring, tiffRaw } from '../helpers/hostile-cases.ts';
import { makeImage } from '../helpers/images.ts';

/** The most one hostile request may take (the server's own answers are in milliseconds; 2 loaded cores). */
const CASE_MS = 5000;
/** Small limits, so that bombs and oversized uploads stay small and fast. */
const MAX_PIXELS = 1_000_000;
const MAX_UPLOAD = 256 * 1024;
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

type Reply = { status: number; text: string; json: any; ms: number };
interface Case {
  name: string;
  /** The codes a correct answer may carry. */
  codes: readonly string[];
  run: () => Promise<Reply>;
  /** A valid (if odd) file: storing it whole is a correct answer too. */
  mayStore?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// the server

let app: TestApp;
let server: RunningServer;
let admin: string;
let curator: string;
let reader: string;
let roots: string;
let socketServer: import('node:net').Server | undefined;
let outside: string;
let slideId: string;
/** Two stored images, for link mutations. */
let linkIds: [string, string];

const INGEST = 'mutation($f: Upload, $p: String, $m: String!, $s: String, $n: String, $page: Int) { ingestImage(input: { file: $f, path: $p, modality: $m, slide: $s, name: $n, page: $page }) { id name } }';

async function reply(res: Response, t0: number): Promise<Reply> {
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, ms: performance.now() - t0 };
}

/** A multipart ingestion built by hand, so that file names can hold any byte. */
async function upload(file: Buffer, opts: { fileName?: string; modality?: string; key?: string; variables?: Record<string, unknown>; contentType?: string } = {}): Promise<Reply> {
  const boundary = 'hostile-boundary-7f3a';
  const variables = { f: null, m: opts.modality ?? 'GREY', ...opts.variables };
  const head = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: INGEST, variables })}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n${JSON.stringify({ 0: ['variables.f'] })}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="`),
    Buffer.from(opts.fileName ?? 'hostile.png', 'utf8'),
    Buffer.from(`"\r\nContent-Type: ${opts.contentType ?? 'application/octet-stream'}\r\n\r\n`),
  ]);
  const body = Buffer.concat([head, file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const t0 = performance.now();
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'apollo-require-preflight': 'true', authorization: `Bearer ${opts.key ?? admin}` },
    body: new Uint8Array(body),
  });
  return reply(res, t0);
}

/** A request to /graphql (or another route) with any body, content type, method and headers. */
async function request(opts: { body?: string | Buffer; contentType?: string | null; method?: string; key?: string | null; headers?: Record<string, string>; url?: string }): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.key !== null) headers.authorization = `Bearer ${opts.key ?? admin}`;
  const t0 = performance.now();
  const res = await fetch(opts.url ?? server.url, {
    method: opts.method ?? 'POST',
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : new Uint8Array(opts.body),
  });
  return reply(res, t0);
}

/** A GraphQL request as JSON. */
function gql(query: string, variables: Record<string, unknown> = {}, key: string | null = admin): Promise<Reply> {
  return request({ body: JSON.stringify({ query, variables }), key });
}

const counts = async () => ({
  images: await app.db.prisma.image.count(),
  modalities: await app.db.prisma.modality.count(),
  slides: await app.db.prisma.slide.count(),
  files: (await readdir(path.join(app.home, 'files'), { recursive: true }).catch(() => [])).filter((f) => /[0-9a-f]{64}/.test(f)).length,
});

/** The checks every case makes on its answer. */
function expectTypedError(r: Reply, codes: readonly string[]) {
  expect(r.status, r.text.slice(0, 500)).toBeLessThan(500);
  expect(r.json, `not JSON: ${r.text.slice(0, 300)}`).toBeTypeOf('object');
  const code = r.json?.errors?.[0]?.extensions?.code ?? r.json?.error?.code;
  expect(codes, `code ${code}: ${r.text.slice(0, 500)}`).toContain(code);
  if (r.status === 200) expect(r.json.errors?.length).toBeGreaterThan(0);
  else expect(r.status).toBeGreaterThanOrEqual(400);
  expect(r.text).not.toContain('INTERNAL_SERVER_ERROR');
  expect(r.text).not.toMatch(/\bat (async )?[\w$.<>]+ \(|\bat file:\/\/|\.(ts|js|mjs|cjs):\d+:\d+|stacktrace/);
  expect(r.text).not.toContain(REPO_ROOT);
  expect(r.text).not.toContain(app.home);
  expect(r.text).not.toContain('node_modules');
}

/** The `mayStore` cases the server stored (and the test deleted again), reported at the end. */
const storedCases: string[] = [];

async function runCase(c: Case) {
  const before = await counts();
  const r = await c.run();
  expect(r.ms, `${c.name} took ${Math.round(r.ms)} ms`).toBeLessThan(CASE_MS);
  const stored = r.json?.data?.ingestImage?.id as string | undefined;
  if (stored && c.mayStore) {
    storedCases.push(c.name);
    // a valid file: stored whole (its row and its file), then removed again
    expect(r.status).toBe(200);
    const now = await counts();
    expect(now.images).toBe(before.images + 1);
    expect(now.files).toBeGreaterThan(before.files);
    expect(now.modalities).toBe(before.modalities);
    const deleted = await gql('mutation($id: ID!) { deleteImage(id: $id) { deletedId } }', { id: stored });
    expect(deleted.json.errors).toBeUndefined();
  } else {
    expectTypedError(r, c.codes);
  }
  expect(await counts()).toEqual(before);
  const alive = await gql('{ __typename }', {}, reader);
  expect(alive.json).toEqual({ data: { __typename: 'Query' } });
}

// ---------------------------------------------------------------------------------------------------------------
// the cases (files are generated at collection time; the server starts in beforeAll)

const rng = seededRng(19);
const families: Record<string, Case[]> = {};
const add = (family: string, c: Case) => (families[family] ??= []).push(c);
const show = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…(${s.length})` : s);

const uploadCase = (family: string, name: string, file: Buffer | (() => Buffer), codes: readonly string[], opts: Parameters<typeof upload>[1] & { mayStore?: boolean } = {}) =>
  add(family, { name, codes, mayStore: opts.mayStore, run: () => upload(typeof file === 'function' ? file() : file, opts) });

const webp = await sharp(await makeImage({ seed: 7, channels: 3 })).webp({ lossless: true }).toBuffer();
const sources: Record<string, { data: Buffer; fileName: string }> = {
  'png8-grey': { data: await makeImage({ seed: 1 }), fileName: 'a.png' },
  'png8-rgb': { data: await makeImage({ seed: 2, channels: 3 }), fileName: 'a.png' },
  'png16-grey': { data: await makeImage({ seed: 3, bitDepth: 16 }), fileName: 'a.png' },
  'png16-rgb': { data: await makeImage({ seed: 4, bitDepth: 16, channels: 3 }), fileName: 'a.png' },
  jpeg: { data: await makeImage({ seed: 5, channels: 3, format: 'jpeg' }), fileName: 'a.jpg' },
  tiff: { data: await makeImage({ seed: 6, format: 'tiff' }), fileName: 'a.tif' },
  'tiff16-rgb': { data: await makeImage({ seed: 8, format: 'tiff', bitDepth: 16, channels: 3 }), fileName: 'a.tif' },
  webp: { data: webp, fileName: 'a.webp' },
};

// 1. truncated files: every format, cut inside the magic, the header and at random points of the data
for (const [kind, { data, fileName }] of Object.entries(sources)) {
  for (const at of cutOffsets(data.length, rng, 8)) {
    uploadCase('truncated files', `${kind} (${data.length} B) cut at ${at}`, data.subarray(0, at), ['UNSUPPORTED_IMAGE'], { fileName });
  }
}

// 2. corrupt files: bytes flipped in the first 64 bytes (magic, header) or in the body. A decoder may not notice a
// flipped sample (JPEG and TIFF data have no checksum): stored whole is a correct answer there.
for (const [kind, { data, fileName }] of Object.entries(sources)) {
  for (let i = 0; i < 4; i++) {
    const n = randInt(rng, 1, 4);
    uploadCase('corrupt files', `${kind}: ${n} byte(s) flipped in the header (#${i})`, flipBytes(data, rng, n, 0, 64), ['UNSUPPORTED_IMAGE', 'PAYLOAD_TOO_LARGE'], { fileName, mayStore: true });
  }
  for (let i = 0; i < 3; i++) {
    const n = randInt(rng, 1, 16);
    uploadCase('corrupt files', `${kind}: ${n} byte(s) flipped in the body (#${i})`, flipBytes(data, rng, n, 64), ['UNSUPPORTED_IMAGE'], { fileName, mayStore: true });
  }
}

// 3. empty, tiny and mislabelled files
{
  const family = 'empty, tiny and mislabelled files';
  uploadCase(family, 'zero bytes', Buffer.alloc(0), ['UNSUPPORTED_IMAGE']);
  for (const b of [0x00, 0x89, 0xff, 0x49, 0x4d, 0x0a, 0x7f]) uploadCase(family, `one byte 0x${b.toString(16)}`, Buffer.from([b]), ['UNSUPPORTED_IMAGE']);
  const magics: Record<string, Buffer> = {
    'PNG signature only': Buffer.from('89504e470d0a1a0a', 'hex'),
    'JPEG SOI only': Buffer.from('ffd8ff', 'hex'),
    'JPEG SOI and EOI': Buffer.from('ffd8ffd9', 'hex'),
    'TIFF II header only': Buffer.from('49492a0008000000', 'hex'),
    'TIFF MM header only': Buffer.from('4d4d002a00000008', 'hex'),
    'BigTIFF header only': Buffer.from('49492b00080000001000000000000000', 'hex'),
    'TIFF with IFD offset past the end': Buffer.from('49492a00ffffff7f', 'hex'),
    'TIFF with a zero-entry IFD': Buffer.from('49492a0008000000000000000000', 'hex'),
    'RIFF WEBP header only': Buffer.from('524946460000000057454250', 'hex'),
    GIF89a: Buffer.from('474946383961010001000000002c00000000010001000002024401003b', 'hex'),
    'BMP magic': Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]),
    'PDF magic': Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n'),
    'ZIP magic': Buffer.from('504b0304140000000000', 'hex'),
    'ELF magic': Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(60)]),
    'gzip magic': Buffer.from('1f8b0800000000000003', 'hex'),
    'SVG referencing a server file': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64"><image xlink:href="file:///etc/passwd" width="64" height="64"/></svg>'),
    'XML entity bomb': Buffer.from(`<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 8 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i ? 'b'.repeat(i) : 'a'};`.repeat(10)}">`).join('')}]><svg xmlns="http://www.w3.org/2000/svg">&bbbbbbbb;</svg>`),
    'HTML page': Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>'),
    'JSON document': Buffer.from(JSON.stringify({ query: '{ __typename }' })),
    'a text file': Buffer.from('hello, world\n'.repeat(50)),
    'random bytes (4 KB)': Buffer.from(Array.from({ length: 4096 }, () => randInt(rng, 0, 255))),
    'zeros (4 KB)': Buffer.alloc(4096),
    '0xff (4 KB)': Buffer.alloc(4096, 0xff),
  };
  for (const [what, data] of Object.entries(magics)) uploadCase(family, `${what}, named .png`, data, ['UNSUPPORTED_IMAGE'], { fileName: 'x.png' });
  // one format's body behind another's magic
  const swaps: [string, Buffer, Buffer][] = [
    ['PNG body behind JPEG magic', sources['png8-grey']!.data, Buffer.from('ffd8ffe0', 'hex')],
    ['JPEG body behind PNG magic', sources.jpeg!.data, Buffer.from('89504e47', 'hex')],
    ['PNG body behind TIFF magic', sources['png8-grey']!.data, Buffer.from('49492a00', 'hex')],
    ['TIFF body behind PNG magic', sources.tiff!.data, Buffer.from('89504e47', 'hex')],
    ['TIFF body with big-endian magic', sources.tiff!.data, Buffer.from('4d4d002a', 'hex')],
    ['WebP body behind PNG magic', webp, Buffer.from('89504e47', 'hex')],
  ];
  for (const [what, data, magic] of swaps) uploadCase(family, what, Buffer.concat([magic, data.subarray(magic.length)]), ['UNSUPPORTED_IMAGE']);
  // formats sharp reads but cmir does not take
  uploadCase(family, 'a valid WebP', webp, ['UNSUPPORTED_IMAGE'], { fileName: 'a.webp' });
  uploadCase(family, 'a valid GIF', await sharp(await makeImage({ seed: 9, channels: 3 })).gif().toBuffer(), ['UNSUPPORTED_IMAGE'], { fileName: 'a.gif' });
  uploadCase(family, 'a valid SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><rect width="64" height="48"/></svg>'), ['UNSUPPORTED_IMAGE'], { fileName: 'a.svg' });
  uploadCase(family, 'page 1 of a one-page PNG', sources['png8-grey']!.data, ['UNSUPPORTED_IMAGE'], { variables: { page: 1 } });
  uploadCase(family, 'page 2^31-1 of a one-page TIFF', sources.tiff!.data, ['UNSUPPORTED_IMAGE'], { variables: { page: 2 ** 31 - 1 } });
  uploadCase(family, 'page -1', sources['png8-grey']!.data, ['BAD_USER_INPUT'], { variables: { page: -1 } });
  uploadCase(family, 'page 1.5', sources['png8-grey']!.data, ['BAD_USER_INPUT'], { variables: { page: 1.5 } });
  uploadCase(family, 'page 2^31', sources['png8-grey']!.data, ['BAD_USER_INPUT'], { variables: { page: 2 ** 31 } });
  uploadCase(family, 'page "0"', sources['png8-grey']!.data, ['BAD_USER_INPUT'], { variables: { page: '0' } });
}

// 4. bombs and absurd sizes. MAX_PIXELS is 1,000,000 here: a header over it is PAYLOAD_TOO_LARGE before any decode.
{
  const family = 'bombs and absurd sizes';
  const over: [number, number][] = [
    [1001, 1000], [1000, 1001], [20000, 20000], [65535, 65535], [100000, 100000], [2 ** 31 - 1, 1], [1, 2 ** 31 - 1],
    [2 ** 31 - 1, 2 ** 31 - 1], [1_000_001, 1], [1, 1_000_001], [46341, 46341], [2 ** 16, 2 ** 16 + 1],
  ];
  const types: [string, { bitDepth: number; colourType: number }][] = [
    ['1-bit grey', { bitDepth: 1, colourType: 0 }],
    ['8-bit grey', { bitDepth: 8, colourType: 0 }],
    ['16-bit RGB', { bitDepth: 16, colourType: 2 }],
    ['8-bit RGBA', { bitDepth: 8, colourType: 6 }],
    ['1-bit palette', { bitDepth: 1, colourType: 3 }],
  ];
  for (const [w, h] of over) {
    for (const [t, header] of types) {
      // PNG's own limit on a dimension is 2^31-1: beyond it the header itself is invalid (UNSUPPORTED_IMAGE)
      uploadCase(family, `PNG declaring ${w}x${h} ${t}`, pngDeclaring({ width: w, height: h, ...header }), ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_IMAGE']);
    }
  }
  // real deflate bombs: every row present, megabytes of zeros in a few kilobytes
  for (const [w, h, t] of [[4000, 4000, 0], [20000, 20000, 0], [2000, 2000, 2], [1001, 1000, 6]] as const) {
    uploadCase(family, `deflate bomb ${w}x${h} colour type ${t}, every row`, () => pngDeclaring({ width: w, height: h, bitDepth: t === 0 ? 1 : 8, colourType: t }, h), ['PAYLOAD_TOO_LARGE']);
  }
  uploadCase(family, 'a real 1-bit 3000x3000 PNG (sharp)', await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#000' } }).png({ palette: true, colours: 2 }).toBuffer(), ['PAYLOAD_TOO_LARGE']);
  for (const [w, h] of [[0, 0], [0, 48], [64, 0], [2 ** 31, 1], [2 ** 32 - 1, 2 ** 32 - 1]] as const) {
    uploadCase(family, `PNG declaring ${w}x${h}`, pngDeclaring({ width: w, height: h, bitDepth: 8, colourType: 0 }), ['UNSUPPORTED_IMAGE']);
  }
  for (const [bitDepth, colourType] of [[3, 0], [8, 1], [8, 7], [16, 3], [4, 2], [0, 0], [255, 255]] as const) {
    uploadCase(family, `PNG with invalid bit depth ${bitDepth} / colour type ${colourType}`, pngDeclaring({ width: 64, height: 48, bitDepth, colourType }), ['UNSUPPORTED_IMAGE']);
  }
  // a header under the limit whose data stops after one row
  for (const [w, h] of [[1000, 1000], [1, 100000], [100000, 2], [999, 1001]] as const) {
    uploadCase(family, `PNG declaring ${w}x${h} with one row of data`, pngDeclaring({ width: w, height: h, bitDepth: 8, colourType: 0 }), ['UNSUPPORTED_IMAGE']);
  }
  const jpeg = sources.jpeg!.data;
  for (const [w, h] of [[65535, 65535], [20000, 20000], [1001, 1000], [0, 0], [0, 48], [64, 0], [65535, 1]] as const) {
    // libjpeg refuses a side over 65,500 itself (UNSUPPORTED_IMAGE), before cmir's pixel limit
    uploadCase(family, `JPEG declaring ${w}x${h}`, jpegDeclaring(jpeg, w, h), w > 65500 || h > 65500 ? ['UNSUPPORTED_IMAGE'] : w * h > MAX_PIXELS ? ['PAYLOAD_TOO_LARGE'] : ['UNSUPPORTED_IMAGE'], { fileName: 'a.jpg' });
  }
  const tiff = sources.tiff!.data;
  for (const [w, h] of [[100000, 100000], [20000, 20000], [1001, 1000], [2 ** 32 - 1, 2 ** 32 - 1], [0, 0], [0, 48], [64, 0]] as const) {
    uploadCase(family, `TIFF declaring ${w}x${h}`, tiffDeclaring(tiff, w, h), w * h > MAX_PIXELS ? ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_IMAGE'] : ['UNSUPPORTED_IMAGE'], { fileName: 'a.tif' });
  }
  // valid but absurd: a 1 x 1 image and a 1-pixel-wide strip may be stored (nothing forbids them) or refused, typed
  uploadCase(family, 'a valid 1x1 PNG', await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer(), ['BAD_USER_INPUT', 'UNSUPPORTED_IMAGE'], { mayStore: true });
  uploadCase(family, 'a valid 1x100000 PNG', pngDeclaring({ width: 1, height: 100000, bitDepth: 8, colourType: 0 }, 100000), ['BAD_USER_INPUT', 'UNSUPPORTED_IMAGE'], { mayStore: true });
  uploadCase(family, 'a valid 100000x1 PNG', pngDeclaring({ width: 100000, height: 1, bitDepth: 8, colourType: 0 }, 1), ['BAD_USER_INPUT', 'UNSUPPORTED_IMAGE'], { mayStore: true });
  uploadCase(family, 'a valid 1x1 16-bit TIFF', await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).toColourspace('rgb16').tiff().toBuffer(), ['BAD_USER_INPUT', 'UNSUPPORTED_IMAGE'], { mayStore: true, fileName: 'a.tif' });
  uploadCase(family, `an upload one byte over CMIR_MAX_UPLOAD_BYTES (${MAX_UPLOAD})`, Buffer.concat([sources['png8-grey']!.data, Buffer.alloc(MAX_UPLOAD + 1 - sources['png8-grey']!.data.length)]), ['PAYLOAD_TOO_LARGE']);
  uploadCase(family, 'an upload of 4 MiB of random bytes', () => Buffer.from(Array.from({ length: 4 << 20 }, () => 0x5a)), ['PAYLOAD_TOO_LARGE']);
}

// 5. sample formats and channel counts. An image whose channels differ from its modality's is converted, on purpose
// (test/medium/ingest-channels.test.ts): stored whole is correct for those; a modality's own channels are 1 or 3.
{
  const family = 'sample formats and channels';
  // sample formats sharp reads but cmir does not take (probeImage: 8- or 16-bit integers only), written by hand
  for (const spp of [1, 3, 4]) {
    for (const [what, bits, sampleFormat] of [['32-bit float', 32, 3], ['64-bit float', 64, 3], ['32-bit unsigned', 32, 1], ['32-bit signed', 32, 2]] as const) {
      uploadCase(family, `${what} TIFF, ${spp} sample(s) a pixel`, tiffRaw({ width: 16, height: 12, spp, bits, sampleFormat }), ['UNSUPPORTED_IMAGE'], { fileName: 'x.tif' });
    }
  }
  // signed integer samples are refused, not read as unsigned (probeImage)
  for (const spp of [1, 3]) {
    for (const [what, bits] of [['8-bit signed', 8], ['16-bit signed', 16]] as const) {
      uploadCase(family, `${what} TIFF, ${spp} sample(s) a pixel`, tiffRaw({ width: 16, height: 12, spp, bits, sampleFormat: 2, fill: 0x35 + bits + spp }), ['UNSUPPORTED_IMAGE'], { fileName: 'x.tif' });
    }
  }
  // unusual but readable: 1- and 4-bit grey, 2 samples a pixel (grey and alpha)
  for (const [what, bits, sampleFormat, spp] of [['1-bit', 1, 1, 1], ['4-bit', 4, 1, 1], ['2-sample 8-bit', 8, 1, 2], ['5-sample 8-bit', 8, 1, 5]] as const) {
    uploadCase(family, `${what} TIFF`, tiffRaw({ width: 16, height: 12, spp, bits, sampleFormat, fill: 0x35 + bits + spp }), ['UNSUPPORTED_IMAGE'], { fileName: 'x.tif', mayStore: true });
  }
  // a strip shorter than the size says
  uploadCase(family, 'an uncompressed TIFF whose strip is cut short', tiffRaw({ width: 16, height: 12, spp: 1, bits: 8, sampleFormat: 1 }).subarray(0, 200), ['UNSUPPORTED_IMAGE'], { fileName: 'x.tif' });
  const odd: Record<string, Buffer> = {
    'grey + alpha PNG': await sharp({ create: { width: 32, height: 24, channels: 4, background: { r: 9, g: 9, b: 9, alpha: 0.5 } } }).toColourspace('b-w').png().toBuffer(),
    'RGBA PNG': await sharp({ create: { width: 32, height: 24, channels: 4, background: { r: 200, g: 10, b: 10, alpha: 0.5 } } }).png().toBuffer(),
    '16-bit RGBA PNG': await sharp({ create: { width: 32, height: 24, channels: 4, background: { r: 20, g: 10, b: 100, alpha: 0.2 } } }).toColourspace('rgb16').png().toBuffer(),
    'palette PNG': await sharp(await makeImage({ seed: 12, channels: 3 })).png({ palette: true }).toBuffer(),
    'CMYK JPEG': await sharp(await makeImage({ seed: 13, channels: 3 })).toColourspace('cmyk').jpeg().toBuffer(),
    'CMYK TIFF': await sharp(await makeImage({ seed: 14, channels: 3 })).toColourspace('cmyk').tiff().toBuffer(),
  };
  for (const [what, data] of Object.entries(odd)) {
    for (const modality of ['GREY', 'RGB3']) uploadCase(family, `${what} into a ${modality === 'GREY' ? '1' : '3'}-channel modality`, data, ['UNSUPPORTED_IMAGE'], { modality, mayStore: true });
  }
  for (const channels of [0, 2, 4, -1, 5, 255, 2 ** 31 - 1, -(2 ** 31)]) {
    add(family, { name: `createModality with channels ${channels}`, codes: ['BAD_USER_INPUT'], run: () => gql('mutation($c: Int) { createModality(input: { name: "CHX", channels: $c }) { id } }', { c: channels }) });
  }
  for (const channels of [1.5, '3', true, 2 ** 31, [1], { n: 1 }]) {
    add(family, { name: `createModality with channels ${JSON.stringify(channels)} (not an Int)`, codes: ['BAD_USER_INPUT'], run: () => gql('mutation($c: Int) { createModality(input: { name: "CHX", channels: $c }) { id } }', { c: channels }) });
  }
  add(family, { name: 'createModality with normalization "CUBIC"', codes: ['BAD_USER_INPUT'], run: () => gql('mutation($n: Normalization) { createModality(input: { name: "CHX", normalization: $n }) { id } }', { n: 'CUBIC' }) });
  add(family, { name: 'createModality with a literal channels: 1e9', codes: ['GRAPHQL_VALIDATION_FAILED'], run: () => gql('mutation { createModality(input: { name: "CHX", channels: 1e9 }) { id } }') });
}

// 6. odd names: modalities, slides, images and file names
{
  const family = 'odd names';
  const badModalities = [
    '', ' ', '\t', 'A'.repeat(33), 'A'.repeat(201), 'A'.repeat(100_000), 'SHG\u0000', '\u0000', 'SH\nG', 'SHG\r\n', '\u001b[31mSHG', 'S\u0007HG',
    'Ä', 'модальность', '模态', 'SHG🔬', 'S\u200dHG', '\u202eGHS', 'SHG\ufeff', '\ud800', 'ＳＨＧ', "SHG'; DROP TABLE \"Image\"; --", `" OR 1=1 --`,
    "' OR ''='", 'SHG%', '%', '_', '-', '1SHG', '-SHG', '_SHG', 'S HG', '../SHG', 'SHG/..', 'a/b', '<script>alert(1)</script>', '${process.env}',
    '{{7*7}}', 'SHG\\',
  ];
  for (const name of badModalities) {
    add(family, { name: `createModality ${show(name)}`, codes: ['BAD_USER_INPUT'], run: () => gql('mutation($n: String!) { createModality(input: { name: $n }) { id } }', { n: name }) });
    uploadCase(family, `ingestImage into modality ${show(name)}`, sources['png8-grey']!.data, ['BAD_USER_INPUT'], { modality: name });
  }
  const badNames = ['', ' ', '\t\n', 'x'.repeat(201), 'x'.repeat(100_000)];
  for (const name of badNames) {
    add(family, { name: `ingestImage with slide ${show(name)}`, codes: ['BAD_USER_INPUT'], run: () => upload(sources['png8-rgb']!.data, { variables: { s: name } }) });
    add(family, { name: `ingestImage with name ${show(name)}`, codes: ['BAD_USER_INPUT'], run: () => upload(sources['png8-rgb']!.data, { variables: { n: name } }) });
    add(family, { name: `createSlide ${show(name)}`, codes: ['BAD_USER_INPUT'], run: () => gql('mutation($n: String!) { createSlide(input: { name: $n }) { id } }', { n: name }) });
  }
  // names that are fine as text, with a file that is not: the file's error, and nothing of the name stored
  const oddButValid = ["'; DROP TABLE \"Slide\"; --", '模态 🔬', '\u202eevil', '../../../../etc/passwd', 'C:\\Windows\\system32', '%00', '\u0007bell'];
  for (const name of oddButValid) {
    add(family, { name: `a bad file with slide ${show(name)}`, codes: ['UNSUPPORTED_IMAGE'], run: () => upload(Buffer.from('not an image'), { variables: { s: name } }) });
    add(family, { name: `a bad file with name ${show(name)}`, codes: ['UNSUPPORTED_IMAGE'], run: () => upload(Buffer.from('not an image'), { variables: { n: name } }) });
  }
  // NUL in a name the database would store: refused as input, not a database error
  for (const name of ['a\u0000b', '\u0000', 'slide\u0000']) {
    add(family, { name: `ingestImage with slide ${show(name)}`, codes: ['BAD_USER_INPUT'], run: () => upload(sources['png8-rgb']!.data, { variables: { s: name } }) });
    add(family, { name: `ingestImage with name ${show(name)}`, codes: ['BAD_USER_INPUT'], run: () => upload(sources['png8-rgb']!.data, { variables: { n: name } }) });
    add(family, { name: `createSlide ${show(name)}`, codes: ['BAD_USER_INPUT'], run: () => gql('mutation($n: String!) { createSlide(input: { name: $n }) { id } }', { n: name }) });
    add(family, { name: `createApiKey ${show(name)}`, codes: ['BAD_USER_INPUT'], run: () => gql('mutation($n: String!) { createApiKey(input: { name: $n, role: READER }) { secret } }', { n: name }) });
  }
  for (const method of ['a\u0000b', '\u0000']) {
    add(family, { name: `linkAcquisition with method ${show(method)}`, codes: ['BAD_USER_INPUT'], run: () => gql('mutation($s: ID!, $t: ID!, $m: String) { linkAcquisition(input: { source: $s, target: $t, method: $m }) { id } }', { s: linkIds[0], t: linkIds[1], m: method }) });
  }
  add(family, { name: 'updateSlideMetadata with a NUL in a value', codes: ['BAD_USER_INPUT'], run: () => gql('mutation($id: ID!, $m: JSON!) { updateSlideMetadata(input: { id: $id, metadata: $m }) { id } }', { id: slideId, m: { note: 'a\u0000b' } }) });
  add(family, { name: 'updateSlideMetadata with a NUL in a key', codes: ['BAD_USER_INPUT'], run: () => gql('mutation($id: ID!, $m: JSON!) { updateSlideMetadata(input: { id: $id, metadata: $m }) { id } }', { id: slideId, m: { 'a\u0000': 1 } }) });
  // file names: traversal, NUL, control characters, huge; with a file that is not an image (the file's error), and
  // with a valid image (stored by checksum under the home whatever its name: checked by the counts)
  const fileNames = [
    '../../../../tmp/hostile-pwned.png', '..\\..\\..\\hostile-pwned.png', '/etc/passwd', '....//....//x.png', '%2e%2e%2fx.png', 'a\u0000.png', '\u0000',
    'x\r\nContent-Type: text/html.png', 'x'.repeat(5000) + '.png', '.png', '..', '.', '', '\u202egnp.exe', 'con.png', 'x.png\u0000.exe',
  ];
  for (const fileName of fileNames) {
    uploadCase(family, `a bad file named ${show(fileName)}`, Buffer.from('not an image'), ['UNSUPPORTED_IMAGE', 'BAD_USER_INPUT', 'BAD_REQUEST'], { fileName });
    uploadCase(family, `a valid image named ${show(fileName)}`, await makeImage({ seed: 100 + fileNames.indexOf(fileName) }), ['BAD_USER_INPUT', 'BAD_REQUEST'], { fileName, mayStore: true });
  }
}

// 7. server paths: CMIR_INGEST_ROOTS is one temporary folder here
{
  const family = 'server paths';
  const inRoot = (p: string) => () => path.join(roots, p);
  const paths: [string, () => string, readonly string[]][] = [
    ['/etc/passwd', () => '/etc/passwd', ['BAD_USER_INPUT']],
    ['/proc/self/environ', () => '/proc/self/environ', ['BAD_USER_INPUT']],
    ['/dev/zero', () => '/dev/zero', ['BAD_USER_INPUT']],
    ['/dev/urandom', () => '/dev/urandom', ['BAD_USER_INPUT']],
    ['relative ../../etc/passwd', () => '../../etc/passwd', ['BAD_USER_INPUT']],
    ['relative x.png', () => 'x.png', ['BAD_USER_INPUT']],
    ['empty', () => '', ['BAD_USER_INPUT']],
    ['a space', () => ' ', ['BAD_USER_INPUT']],
    ['~/.ssh/id_rsa', () => '~/.ssh/id_rsa', ['BAD_USER_INPUT']],
    ['file:///etc/passwd', () => 'file:///etc/passwd', ['BAD_USER_INPUT']],
    ['http URL', () => 'http://127.0.0.1:1/x.png', ['BAD_USER_INPUT']],
    ['root/../../etc/passwd', inRoot('../../etc/passwd'), ['BAD_USER_INPUT']],
    ['root/../outside/secret.png', () => `${roots}/../${path.basename(outside)}/secret.png`, ['BAD_USER_INPUT']],
    ['the root with a trailing sibling prefix', () => `${roots}-sibling/x.png`, ['BAD_USER_INPUT']],
    ['a link in the root to /etc/passwd', inRoot('link-passwd'), ['BAD_USER_INPUT']],
    ['a link in the root to a file outside', inRoot('link-secret.png'), ['BAD_USER_INPUT']],
    ['a file under a linked folder outside', inRoot('link-dir/secret.png'), ['BAD_USER_INPUT']],
    ['a link in the root to /dev/zero', inRoot('link-zero'), ['BAD_USER_INPUT']],
    ['a link loop in the root', inRoot('loop-a'), ['BAD_USER_INPUT']],
    ['a dangling link in the root', inRoot('dangling'), ['BAD_USER_INPUT']],
    ['a missing file in the root', inRoot('missing.png'), ['BAD_USER_INPUT']],
    ['the root itself (a folder)', () => roots, ['BAD_USER_INPUT']],
    ['a folder in the root', inRoot('sub'), ['BAD_USER_INPUT']],
    ['a NUL in the path', inRoot('a\u0000b.png'), ['BAD_USER_INPUT']],
    ['a 5,000-character name in the root', inRoot('x'.repeat(5000)), ['BAD_USER_INPUT']],
    ['a 100,000-character path', () => `/${'a/'.repeat(50_000)}`, ['BAD_USER_INPUT']],
    ['backslash traversal', inRoot('..\\..\\etc\\passwd'), ['BAD_USER_INPUT']],
    ['a text file in the root', inRoot('text.png'), ['UNSUPPORTED_IMAGE']],
    ['an empty file in the root', inRoot('empty.png'), ['UNSUPPORTED_IMAGE']],
    ['a truncated PNG in the root', inRoot('cut.png'), ['UNSUPPORTED_IMAGE']],
    ['a truncated TIFF in the root', inRoot('cut.tif'), ['UNSUPPORTED_IMAGE']],
    ['a TIFF declaring 100000x100000 in the root', inRoot('huge.tif'), ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_IMAGE']],
    ['a TIFF header alone in the root', inRoot('header.tif'), ['UNSUPPORTED_IMAGE']],
    ['a PNG bomb in the root', inRoot('bomb.png'), ['PAYLOAD_TOO_LARGE']],
    // not regular files: reading a FIFO would block forever; a socket cannot be read
    ['a socket in the root', inRoot('socket.png'), ['BAD_USER_INPUT']],
    ['a link in the root to a socket in the root', inRoot('link-socket.png'), ['BAD_USER_INPUT']],
    ...(CAN_MKFIFO
      ? ([
          ['a FIFO in the root', inRoot('fifo.png'), ['BAD_USER_INPUT']],
          ['a FIFO named .tif in the root', inRoot('fifo.tif'), ['BAD_USER_INPUT']],
          ['a link in the root to a FIFO in the root', inRoot('link-fifo.png'), ['BAD_USER_INPUT']],
        ] satisfies [string, () => string, readonly string[]][])
      : []),
  ];
  for (const [what, p, codes] of paths) {
    add(family, { name: `ingestImage(path: ${what})`, codes, run: () => gql(INGEST, { p: p(), m: 'GREY' }) });
  }
  for (const [what, p] of [['/etc', () => '/etc'], ['/', () => '/'], ['relative ..', () => '..'], ['root/..', inRoot('..')], ['a link to /etc in the root', inRoot('link-dir')], ['an empty folder in the root', inRoot('sub')], ['a file in the root', inRoot('text.png')], ['a NUL', inRoot('\u0000')]] as const) {
    add(family, { name: `registerModel(dir: ${what})`, codes: ['BAD_USER_INPUT', 'MODEL_INVALID', 'NOT_FOUND'], run: () => gql('mutation($d: String!) { registerModel(input: { dir: $d }) { id } }', { d: p() }) });
  }
  add(family, { name: 'ingestImage with both a file and a path', codes: ['BAD_USER_INPUT'], run: () => upload(sources['png8-grey']!.data, { variables: { p: '/etc/passwd' } }) });
  add(family, { name: 'ingestImage with neither a file nor a path', codes: ['BAD_USER_INPUT'], run: () => gql(INGEST, { m: 'GREY' }) });
  add(family, { name: 'ingestImage(path) by a reader', codes: ['FORBIDDEN'], run: () => gql(INGEST, { p: '/etc/passwd', m: 'GREY' }, reader) });
  add(family, { name: 'ingestImage(path) anonymously', codes: ['UNAUTHENTICATED', 'FORBIDDEN'], run: () => gql(INGEST, { p: '/etc/passwd', m: 'GREY' }, null) });
}

// 8. bodies: oversized, malformed, mistyped
{
  const family = 'bodies';
  const MB = 1024 * 1024;
  const big = (n: number) => 'x'.repeat(n);
  add(family, { name: 'a JSON body of 1 MiB + 1 KiB (query padding)', codes: ['PAYLOAD_TOO_LARGE'], run: () => request({ body: JSON.stringify({ query: `{ __typename } # ${big(MB + 1024)}` }) }) });
  add(family, { name: 'a JSON body of 1 MiB + 1 KiB (variables)', codes: ['PAYLOAD_TOO_LARGE'], run: () => request({ body: JSON.stringify({ query: '{ __typename }', variables: { x: big(MB + 1024) } }) }) });
  add(family, { name: 'a JSON body of 1 MiB + 1 KiB (whitespace)', codes: ['PAYLOAD_TOO_LARGE'], run: () => request({ body: `{"query":"{ __typename }"${' '.repeat(MB + 1024)}}` }) });
  add(family, { name: 'a JSON body of 8 MiB', codes: ['PAYLOAD_TOO_LARGE'], run: () => request({ body: JSON.stringify({ query: '{ __typename }', variables: { x: big(8 * MB) } }) }) });
  add(family, { name: 'a body longer than its Content-Length says (gzip claimed)', codes: ['BAD_REQUEST', 'PAYLOAD_TOO_LARGE'], run: () => request({ body: Buffer.from('not gzip at all'), headers: { 'content-encoding': 'gzip' } }) });
  add(family, { name: 'an unknown Content-Encoding', codes: ['BAD_REQUEST'], run: () => request({ body: '{"query":"{ __typename }"}', headers: { 'content-encoding': 'br-hostile' } }) });
  const malformed = [
    '{', '}', '{"query":', '{"query": "{ __typename }",}', "{'query': '{ __typename }'}", '{"query": "{ __typename }"', 'nul', 'NaN', '{"query": undefined}',
    '\u0000', '{"query": "\\u"}', '[', '{"a":' + '['.repeat(5000), '\ufeff{"query":"{ __typename }"', '{"query": "{ __typename }"}}', '--', '0x10',
  ];
  for (const body of malformed) add(family, { name: `malformed JSON ${show(body)}`, codes: ['BAD_REQUEST'], run: () => request({ body }) });
  add(family, { name: 'invalid UTF-8 in the JSON body', codes: ['BAD_REQUEST', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED'], run: () => request({ body: Buffer.concat([Buffer.from('{"query":"{ __typename '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' }"}')]) }) });
  const shapes: [string, unknown][] = [
    ['null', null], ['an array', []], ['a string', 'query'], ['a number', 42], ['true', true], ['an empty object', {}], ['query null', { query: null }],
    ['query a number', { query: 1 }], ['query an object', { query: { a: 1 } }], ['query an array', { query: ['{ __typename }'] }], ['query empty', { query: '' }],
    ['variables a string', { query: '{ __typename }', variables: 'x' }], ['variables an array', { query: '{ __typename }', variables: [1] }],
    ['operationName a number', { query: '{ __typename }', operationName: 5 }], ['extensions a string', { query: '{ __typename }', extensions: 'x' }],
    ['a persisted-query hash only', { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } }],
    ['a persisted query of version 2', { query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: 'ab' } } }],
    ['a persisted query whose hash does not match', { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'b'.repeat(64) } } }],
    ['a batch of two', [{ query: '{ __typename }' }, { query: '{ __typename }' }]],
    ['a batch of 1000', Array.from({ length: 1000 }, () => ({ query: '{ images(first: 500) { totalCount } }' }))],
    ['an unknown operationName', { query: 'query A { __typename } query B { __typename }', operationName: 'C' }],
    ['two operations, no operationName', { query: 'query A { __typename } query B { __typename }' }],
  ];
  for (const [what, body] of shapes) {
    add(family, { name: `a body that is ${what}`, codes: ['BAD_REQUEST', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'OPERATION_RESOLUTION_FAILURE'], run: () => request({ body: JSON.stringify(body) }) });
  }
  const types = ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'application/graphql', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'image/png', 'multipart/form-data', 'multipart/form-data; boundary=', 'multipart/mixed; boundary=x', '*/*', 'application/json, text/plain', '', null];
  for (const contentType of types) {
    add(family, { name: `a mutation as ${contentType === null ? 'no' : JSON.stringify(contentType)} content type`, codes: ['BAD_REQUEST', 'PAYLOAD_TOO_LARGE'], run: () => request({ body: JSON.stringify({ query: 'mutation { createModality(input: { name: "CTYPE" }) { id } }' }), contentType }) });
  }
  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    add(family, { name: `${method} /graphql`, codes: ['BAD_REQUEST', 'METHOD_NOT_ALLOWED'], run: () => request({ method, body: JSON.stringify({ query: 'mutation { createModality(input: { name: "METHOD" }) { id } }' }) }) });
  }
  add(family, { name: 'a mutation over GET', codes: ['BAD_REQUEST', 'METHOD_NOT_ALLOWED'], run: () => request({ method: 'GET', contentType: null, headers: { 'apollo-require-preflight': '1' }, url: `${server.url}?query=${encodeURIComponent('mutation { createModality(input: { name: "GETMOD" }) { id } }')}` }) });
  add(family, { name: 'a GET without the preflight header (CSRF)', codes: ['BAD_REQUEST'], run: () => request({ method: 'GET', contentType: null, url: `${server.url}?query=${encodeURIComponent('{ __typename }')}` }) });
  // multipart bodies broken in their structure
  const multipart = (parts: string[], boundary = 'mpb') => request({ body: parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('') + `--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}`, headers: { 'apollo-require-preflight': '1' } });
  const field = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;
  const file = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${value}`;
  const ops = JSON.stringify({ query: INGEST, variables: { f: null, m: 'GREY' } });
  const mp: [string, string[]][] = [
    ['operations not JSON', [field('operations', '{'), field('map', '{"0":["variables.f"]}'), file('0', 'x')]],
    ['map not JSON', [field('operations', ops), field('map', '{'), file('0', 'x')]],
    ['map an array', [field('operations', ops), field('map', '[]'), file('0', 'x')]],
    ['map to a missing path', [field('operations', ops), field('map', '{"0":["variables.nope.deeper"]}'), file('0', 'x')]],
    ['map to __proto__', [field('operations', ops), field('map', '{"0":["__proto__.polluted"]}'), file('0', 'x')]],
    ['map naming a missing file', [field('operations', ops), field('map', '{"9":["variables.f"]}'), file('0', 'x')]],
    ['two files (one allowed)', [field('operations', ops), field('map', '{"0":["variables.f"],"1":["variables.g"]}'), file('0', 'x'), file('1', 'y')]],
    ['the file before operations', [file('0', 'x'), field('operations', ops), field('map', '{"0":["variables.f"]}')]],
    ['no map', [field('operations', ops), file('0', 'x')]],
    ['no operations', [field('map', '{"0":["variables.f"]}'), file('0', 'x')]],
    ['nothing but the file', [file('0', 'x')]],
    ['1000 fields', [field('operations', ops), field('map', '{"0":["variables.f"]}'), ...Array.from({ length: 1000 }, (_, i) => field(`extra${i}`, 'y')), file('0', 'x')]],
    ['a part without headers', [field('operations', ops), field('map', '{"0":["variables.f"]}'), '\r\nno headers']],
    ['operations an empty batch', [field('operations', '[]'), field('map', '{}')]],
  ];
  for (const [what, parts] of mp) add(family, { name: `multipart: ${what}`, codes: ['BAD_REQUEST', 'BAD_USER_INPUT', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_IMAGE', 'GRAPHQL_VALIDATION_FAILED'], run: () => multipart(parts) });
  add(family, { name: 'multipart without the preflight header (CSRF)', codes: ['BAD_REQUEST'], run: () => request({ body: `--b\r\n${field('operations', ops)}\r\n--b--\r\n`, contentType: 'multipart/form-data; boundary=b' }) });
}

// 9. query shapes and keys
{
  const family = 'queries and keys';
  const nest = (n: number) => {
    let inner = 'name';
    for (let i = 0; i < n; i++) inner = `links { ${i % 2 ? 'target' : 'source'} { ${inner} } }`;
    return `{ images(first: 1) { edges { node { ${inner} } } } }`;
  };
  for (const depth of [7, 10, 25, 60, 150, 400]) add(family, { name: `links nested ${depth} hops`, codes: ['QUERY_TOO_COMPLEX'], run: () => gql(nest(depth)) });
  for (const n of [16, 40, 200, 1000]) add(family, { name: `${n} aliases`, codes: ['QUERY_TOO_COMPLEX'], run: () => gql(`{ ${Array.from({ length: n }, (_, i) => `a${i}: modalities { name }`).join(' ')} }`) });
  for (const first of [10000, 100000, 2 ** 31 - 1]) {
    add(family, { name: `slides(first: ${first}) x images(first: ${first}) literal`, codes: ['QUERY_TOO_COMPLEX', 'BAD_USER_INPUT'], run: () => gql(`{ slides(first: ${first}) { edges { node { images(first: ${first}) { edges { node { id name } } } } } } }`) });
    add(family, { name: `images(first: $first = ${first}) as a variable`, codes: ['BAD_USER_INPUT', 'QUERY_TOO_COMPLEX'], run: () => gql('query($n: Int) { images(first: $n) { totalCount } }', { n: first }) });
  }
  for (const first of [-1, -(2 ** 31), 501]) add(family, { name: `images(first: ${first})`, codes: ['BAD_USER_INPUT'], run: () => gql(`{ images(first: ${first}) { totalCount } }`) });
  add(family, { name: 'images(first: 2^31) (not an Int)', codes: ['GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_COMPLEX'], run: () => gql('{ images(first: 2147483648) { totalCount } }') });
  for (const n of [1001, 5000, 50000]) add(family, { name: `${n} tokens`, codes: ['QUERY_TOO_COMPLEX'], run: () => gql(`{ ${'__typename '.repeat(n)}}`) });
  add(family, { name: '60 directives', codes: ['QUERY_TOO_COMPLEX'], run: () => gql(`{ ${Array.from({ length: 60 }, () => '__typename @skip(if: false)').join(' ')} }`) });
  const introspection = [
    '{ __schema { types { name } } }', '{ __type(name: "Image") { fields { name } } }', 'query { s: __schema { queryType { name } } }',
    'fragment F on Query { __schema { types { name } } } query { ...F }', '{ ... on Query { __schema { directives { name } } } }',
    'query IntrospectionQuery { __schema { mutationType { fields { name } } } }',
  ];
  for (const q of introspection) add(family, { name: `introspection ${show(q)}`, codes: ['GRAPHQL_VALIDATION_FAILED'], run: () => gql(q, {}, null) });
  add(family, { name: 'a misspelt field (no suggestion given)', codes: ['GRAPHQL_VALIDATION_FAILED'], run: async () => {
    const r = await gql('{ imagez { totalCount } }');
    expect(r.text).not.toMatch(/Did you mean/);
    return r;
  } });
  add(family, { name: 'cyclic fragments', codes: ['GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_COMPLEX'], run: () => gql('fragment A on Query { ...B } fragment B on Query { ...A } query { ...A }') });
  add(family, { name: 'a self-referencing fragment', codes: ['GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_COMPLEX'], run: () => gql('fragment A on Image { links { source { ...A } } } query { images { edges { node { ...A } } } }') });
  add(family, { name: 'fragment fan-out (10 x 10 x 10 spreads of a full page)', codes: ['QUERY_TOO_COMPLEX'], run: () => gql(`fragment C on Query { images(first: 500) { edges { node { id name } } } } fragment B on Query { ${'...C '.repeat(10)} } fragment A on Query { ${'...B '.repeat(10)} } query { ${'...A '.repeat(10)} }`) });
  for (let i = 0; i < 12; i++) {
    // random syntax garbage from the query language's own characters
    const alphabet = '{}()[]:$@!.=,"\\#|&query mutation fragment on ... __typename images 1 -';
    const q = Array.from({ length: randInt(rng, 1, 60) }, () => alphabet[randInt(rng, 0, alphabet.length - 1)]).join('');
    add(family, { name: `syntax garbage #${i} ${show(q)}`, codes: ['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'QUERY_TOO_COMPLEX'], run: () => gql(q) });
  }
  // ids and cursors
  const ids = ['', 'x', '0', '-1', 'SW1hZ2U6LTE', 'SW1hZ2U6OTk5OTk5OTk5OTk5OTk5OTk5', 'U2xpZGU6MQ', 'Image:1', '\u0000', 'A'.repeat(100_000), Buffer.from('Image:1e3').toString('base64url'), Buffer.from('Image:0x10').toString('base64url'), Buffer.from('Image:1 OR 1=1').toString('base64url')];
  for (const id of ids) {
    add(family, { name: `image(id: ${show(id)})`, codes: ['BAD_USER_INPUT', 'NOT_FOUND'], run: async () => {
      const r = await gql('query($id: ID!) { image(id: $id) { id } }', { id });
      // an id of the right kind that names no image is a null answer, not an error: turn it into one to keep the shape
      if (r.json?.data?.image === null && !r.json.errors) return { ...r, json: { errors: [{ extensions: { code: 'NOT_FOUND' } }] }, text: '{"errors":[{"extensions":{"code":"NOT_FOUND"}}]}', status: 200 };
      return r;
    } });
    add(family, { name: `deleteImage(id: ${show(id)})`, codes: ['BAD_USER_INPUT', 'NOT_FOUND'], run: () => gql('mutation($id: ID!) { deleteImage(id: $id) { deletedId } }', { id }) });
  }
  for (const after of ['x', '!!!', Buffer.from('cursor:-5').toString('base64url'), Buffer.from('cursor:abc').toString('base64url'), Buffer.from('cursor:99999999999999999999').toString('base64url'), 'A'.repeat(100_000)]) {
    add(family, { name: `images(after: ${show(after)})`, codes: ['BAD_USER_INPUT'], run: () => gql('query($a: String) { images(first: 5, after: $a) { totalCount } }', { a: after }) });
  }
  for (const size of [0, 15, 1025, -1, 2 ** 31 - 1]) add(family, { name: `thumbnail size ${size} of a missing image`, codes: ['BAD_USER_INPUT', 'NOT_FOUND'], run: () => request({ method: 'GET', contentType: null, url: server.url.replace('/graphql', `/thumbnails/${toGlobalId('Image', 999999)}.png?size=${size}`) }) });
  for (const p of ['../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%00', 'x'.repeat(5000)]) {
    add(family, { name: `thumbnail of ${show(p)}`, codes: ['BAD_USER_INPUT', 'NOT_FOUND'], run: () => request({ method: 'GET', contentType: null, url: server.url.replace('/graphql', `/thumbnails/${p}`) }) });
    add(family, { name: `IIIF info of ${show(p)}`, codes: ['BAD_USER_INPUT', 'NOT_FOUND'], run: () => request({ method: 'GET', contentType: null, url: server.url.replace('/graphql', `/iiif/3/${p}/info.json`) }) });
  }
  // keys
  const mutation = JSON.stringify({ query: 'mutation { createModality(input: { name: "KEYMOD" }) { id } }' });
  const keyHeaders: [string, Record<string, string>][] = [
    ['a wrong Bearer key', { authorization: 'Bearer cmir_0000000000000000000000000000' }],
    ['Basic credentials', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
    ['Bearer without a key', { authorization: 'Bearer' }],
    ['Bearer with two keys', { authorization: 'Bearer a b' }],
    ['a 10,000-character key', { authorization: `Bearer ${'k'.repeat(10_000)}` }],
    ['an SQL key', { authorization: "Bearer ' OR '1'='1" }],
    ['a wrong X-Api-Key', { 'x-api-key': 'nope' }],
  ];
  for (const [what, headers] of keyHeaders) add(family, { name: `a mutation with ${what}`, codes: ['UNAUTHENTICATED'], run: () => request({ body: mutation, key: null, headers }) });
  add(family, { name: 'a mutation without a key', codes: ['UNAUTHENTICATED', 'FORBIDDEN'], run: () => request({ body: mutation, key: null }) });
  add(family, { name: "a reader's mutation", codes: ['FORBIDDEN'], run: () => request({ body: mutation, key: reader }) });
  add(family, { name: "a curator's new modality", codes: ['FORBIDDEN'], run: () => request({ body: mutation, key: curator }) });
  add(family, { name: "a curator's createApiKey", codes: ['FORBIDDEN'], run: () => request({ body: JSON.stringify({ query: 'mutation { createApiKey(input: { name: "k", role: ADMIN }) { secret } }' }), key: curator }) });
}

beforeAll(async () => {
  roots = await mkdtemp(path.join(os.tmpdir(), 'cmir-hostile-root-'));
  outside = await mkdtemp(path.join(os.tmpdir(), 'cmir-hostile-outside-'));
  await writeFile(path.join(outside, 'secret.png'), await makeImage({ seed: 77 }));
  await mkdir(path.join(roots, 'sub'));
  await symlink('/etc/passwd', path.join(roots, 'link-passwd'));
  await symlink(path.join(outside, 'secret.png'), path.join(roots, 'link-secret.png'));
  await symlink(outside, path.join(roots, 'link-dir'));
  await symlink('/dev/zero', path.join(roots, 'link-zero'));
  await symlink(path.join(roots, 'loop-b'), path.join(roots, 'loop-a'));
  await symlink(path.join(roots, 'loop-a'), path.join(roots, 'loop-b'));
  await symlink(path.join(roots, 'nowhere'), path.join(roots, 'dangling'));
  await writeFile(path.join(roots, 'text.png'), 'hello\n');
  await writeFile(path.join(roots, 'empty.png'), '');
  await writeFile(path.join(roots, 'cut.png'), sources['png8-grey']!.data.subarray(0, 100));
  await writeFile(path.join(roots, 'cut.tif'), sources.tiff!.data.subarray(0, 200));
  await writeFile(path.join(roots, 'huge.tif'), tiffDeclaring(sources.tiff!.data, 100000, 100000));
  await writeFile(path.join(roots, 'header.tif'), Buffer.from('49492a0008000000', 'hex'));
  if (CAN_MKFIFO) {
    for (const name of ['fifo.png', 'fifo.tif']) expect(makeFifo(path.join(roots, name))).toBe(true);
    await symlink(path.join(roots, 'fifo.png'), path.join(roots, 'link-fifo.png'));
  }
  socketServer = await makeSocket(path.join(roots, 'socket.png'));
  await symlink(path.join(roots, 'socket.png'), path.join(roots, 'link-socket.png'));
  await writeFile(path.join(roots, 'bomb.png'), pngDeclaring({ width: 20000, height: 20000, bitDepth: 1, colourType: 0 }, 20000));

  app = await createTestApp({ maxPixels: MAX_PIXELS, maxUploadBytes: MAX_UPLOAD, ingestRoots: [roots] });
  server = await startServer(app, 0, '127.0.0.1');
  admin = await createKey(app, 'admin', 'hostile-admin');
  curator = await createKey(app, 'curator', 'hostile-curator');
  reader = await createKey(app, 'reader', 'hostile-reader');
  await app.services.modalities.create({ name: 'GREY', channels: 1 });
  await app.services.modalities.create({ name: 'RGB3', channels: 3 });
  slideId = toGlobalId('Slide', (await app.services.slides.create({ name: 'hostile-slide', metadata: { a: 1 } })).id);
  const stored = [];
  for (const seed of [501, 502]) stored.push(await app.services.images.ingest({ data: await makeImage({ seed, width: 40, height: 30 }), fileName: `stored${seed}.png`, modality: 'GREY' }));
  linkIds = [toGlobalId('Image', stored[0]!.id), toGlobalId('Image', stored[1]!.id)];
});
afterAll(async () => {
  await server?.stop();
  await app?.close();
  if (socketServer) await new Promise((resolve) => socketServer!.close(resolve));
  for (const dir of [roots, outside]) if (dir) await rm(dir, { recursive: true, force: true });
});

test('an upload of exactly CMIR_MAX_UPLOAD_BYTES is taken; one byte more is PAYLOAD_TOO_LARGE, not a shorter file', async () => {
  // busboy cuts a file at its limit and ends the stream without an error: the server once ingested the first
  // MAX_UPLOAD bytes of a longer upload (a PNG padded with zeros still decodes)
  const png = await makeImage({ seed: 600 });
  const exact = Buffer.concat([png, Buffer.alloc(MAX_UPLOAD - png.length)]);
  const before = await counts();
  const over = await upload(Buffer.concat([exact, Buffer.alloc(1)]));
  expectTypedError(over, ['PAYLOAD_TOO_LARGE']);
  expect(await counts()).toEqual(before);
  const taken = await upload(exact);
  expect(taken.json.errors).toBeUndefined();
  const deleted = await gql('mutation($id: ID!) { deleteImage(id: $id) { deletedId } }', { id: taken.json.data.ingestImage.id });
  expect(deleted.json.errors).toBeUndefined();
  expect(await counts()).toEqual(before);
});

const total = Object.values(families).reduce((n, cs) => n + cs.length, 0);
let atStart: Awaited<ReturnType<typeof counts>>;

test(`the sweep has at least 300 generated cases (${total})`, async () => {
  expect(total).toBeGreaterThanOrEqual(300);
  atStart = await counts();
});

for (const [family, cases] of Object.entries(families)) {
  describe(family, () => {
    let before: Awaited<ReturnType<typeof counts>>;
    beforeAll(async () => {
      before = await counts();
    });
    test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await runCase(c);
    });
    test(`${family}: rows and files as before the ${cases.length} cases`, async () => {
      expect(await counts()).toEqual(before);
      const health = await fetch(server.url.replace('/graphql', '/healthz'));
      expect(health.status).toBe(200);
    });
  });
}

test(`after all ${total} cases: rows and files as at the start, and the server answers`, async () => {
  expect(await counts()).toEqual(atStart);
  const alive = await gql('{ modalities { name } }', {}, reader);
  expect(alive.json.data.modalities.map((m: { name: string }) => m.name).sort()).toEqual(['GREY', 'RGB3']);
  // file names with traversal wrote nothing outside the store
  for (const dir of [os.tmpdir(), REPO_ROOT, path.dirname(REPO_ROOT), app.home, path.join(app.home, 'files')]) {
    expect(existsSync(path.join(dir, 'hostile-pwned.png')), dir).toBe(false);
  }
  console.info(`[hostile] ${storedCases.length} valid-but-odd files were stored whole (then deleted): ${storedCases.join('; ')}`);
});
