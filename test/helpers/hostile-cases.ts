/**
 * Generators of hostile inputs for test/api/hostile.test.ts (issue 19): a seeded RNG, so that every run sends the same
 * bytes, and hand-built files that sharp will not write (a PNG header declaring any size, cut or flipped files,
 * JPEG and TIFF headers patched to absurd sizes).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

/** The project's seeded PRNG (mulberry32, values in [0, 1)). */
export { mulberry32 as seededRng } from '../../src/pipeline/index/kdtree.ts';

/** An integer in [lo, hi]. */
export function randInt(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk with a correct CRC. */
export function pngChunk(type: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export interface PngHeader {
  width: number;
  height: number;
  /** 1, 2, 4, 8 or 16 */
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA */
  colourType: number;
}

const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * A PNG that declares `header` (any size: IHDR is written by hand, with a valid CRC). `rows` scanlines of zeros are
 * deflated into the IDAT (a real deflate bomb when `rows` is the height: megabytes of zeros in a few kilobytes);
 * by default a single row, so the file is small and its data ends early.
 */
export function pngDeclaring(header: PngHeader, rows = 1): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(header.width >>> 0, 0);
  ihdr.writeUInt32BE(header.height >>> 0, 4);
  ihdr[8] = header.bitDepth;
  ihdr[9] = header.colourType;
  const chunks = [PNG_SIGNATURE, pngChunk('IHDR', ihdr)];
  if (header.colourType === 3) chunks.push(pngChunk('PLTE', Buffer.from([0, 0, 0, 255, 255, 255])));
  const rowBytes = 1 + Math.ceil((Math.min(header.width, 1 << 20) * header.bitDepth * (SAMPLES[header.colourType] ?? 1)) / 8);
  chunks.push(pngChunk('IDAT', deflateSync(Buffer.alloc(rowBytes * Math.max(1, rows)), { level: 9 })));
  chunks.push(pngChunk('IEND'));
  return Buffer.concat(chunks);
}

/** A copy of `buf` with `count` bytes at random offsets in [from, to) XOR-ed with a random non-zero byte. */
export function flipBytes(buf: Buffer, rng: () => number, count: number, from = 0, to = buf.length): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < count; i++) {
    const at = randInt(rng, from, Math.max(from, to - 1));
    out[at] = out[at]! ^ randInt(rng, 1, 255);
  }
  return out;
}

/**
 * Offsets to cut a file of `length` bytes at: the very start (inside the magic), inside the first header, then random
 * points through the data up to 90 % of the file (a file cut in its last few bytes may lose only a trailer that
 * decoders do not need, e.g. a PNG's IEND).
 */
export function cutOffsets(length: number, rng: () => number, random: number): number[] {
  const fixed = [1, 2, 3, 4, 7, 12, 20, 33].filter((n) => n < length * 0.9);
  const picked = new Set(fixed);
  while (picked.size < fixed.length + random) picked.add(randInt(rng, 40, Math.floor(length * 0.9)));
  return [...picked].sort((a, b) => a - b);
}

/** The offset of a JPEG's SOF0/SOF1/SOF2 marker segment (its height at +5, width at +7, big-endian), or -1. */
export function jpegSofOffset(jpeg: Buffer): number {
  let i = 2;
  while (i + 4 < jpeg.length) {
    if (jpeg[i] !== 0xff) return -1;
    const marker = jpeg[i + 1]!;
    const len = jpeg.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) return i;
    i += 2 + len;
  }
  return -1;
}

/** A JPEG with its frame header patched to declare width x height (each 0..65535). */
export function jpegDeclaring(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  const sof = jpegSofOffset(out);
  if (sof < 0) throw new Error('no SOF marker');
  out.writeUInt16BE(height, sof + 5);
  out.writeUInt16BE(width, sof + 7);
  return out;
}

/**
 * A little-endian TIFF with the ImageWidth (256) and ImageLength (257) entries of its first IFD patched to
 * width x height (a SHORT entry becomes a LONG when the value does not fit).
 */
export function tiffDeclaring(tiff: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(tiff);
  if (out.toString('latin1', 0, 2) !== 'II') throw new Error('not a little-endian TIFF');
  const ifd = out.readUInt32LE(4);
  const n = out.readUInt16LE(ifd);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + 12 * k;
    const tag = out.readUInt16LE(e);
    if (tag !== 256 && tag !== 257) continue;
    const value = tag === 256 ? width : height;
    const type = out.readUInt16LE(e + 2);
    if (type === 3 && value > 0xffff) {
      // SHORT cannot hold it: make the entry a LONG (count 1, value in place)
      out.writeUInt16LE(4, e + 2);
      out.writeUInt32LE(value >>> 0, e + 8);
    } else if (type === 3) {
      out.writeUInt16LE(value, e + 8);
    } else {
      out.writeUInt32LE(value >>> 0, e + 8);
    }
  }
  return out;
}

/**
 * An uncompressed one-strip little-endian TIFF of any sample format sharp does not write: `bits` per sample,
 * SampleFormat 1 (unsigned), 2 (signed) or 3 (IEEE float), `spp` samples per pixel. The pixel bytes are `fill`.
 */
export function tiffRaw(opts: { width: number; height: number; spp: number; bits: number; sampleFormat: number; fill?: number }): Buffer {
  const { width, height, spp, bits, sampleFormat } = opts;
  const pixels = Buffer.alloc(Math.ceil((width * spp * bits) / 8) * height, opts.fill ?? 0x40);
  const entries: [number, number, number[]][] = [
    [256, 4, [width]],
    [257, 4, [height]],
    [258, 3, Array(spp).fill(bits)],
    [259, 3, [1]],
    [262, 3, [spp >= 3 ? 2 : 1]],
    [273, 4, [0]], // patched below
    [277, 3, [spp]],
    [278, 4, [height]],
    [279, 4, [pixels.length]],
    [284, 3, [1]],
    [339, 3, Array(spp).fill(sampleFormat)],
  ];
  const ifdAt = 8;
  const ifdSize = 2 + 12 * entries.length + 4;
  const extra: Buffer[] = [];
  let extraAt = ifdAt + ifdSize;
  const ifd = Buffer.alloc(ifdSize);
  ifd.writeUInt16LE(entries.length, 0);
  const dataAt = extraAt + entries.reduce((n, [, type, v]) => n + (v.length * (type === 3 ? 2 : 4) > 4 ? v.length * (type === 3 ? 2 : 4) : 0), 0);
  entries.forEach(([tag, type, values], k) => {
    if (tag === 273) values = [dataAt];
    const e = 2 + 12 * k;
    ifd.writeUInt16LE(tag, e);
    ifd.writeUInt16LE(type, e + 2);
    ifd.writeUInt32LE(values.length, e + 4);
    const size = type === 3 ? 2 : 4;
    const bytes = Buffer.alloc(Math.max(4, values.length * size));
    values.forEach((v, i) => (size === 2 ? bytes.writeUInt16LE(v, i * 2) : bytes.writeUInt32LE(v, i * 4)));
    if (values.length * size <= 4) bytes.copy(ifd, e + 8, 0, 4);
    else {
      ifd.writeUInt32LE(extraAt, e + 8);
      extra.push(bytes.subarray(0, values.length * size));
      extraAt += values.length * size;
    }
  });
  const header = Buffer.from('49492a0008000000', 'hex');
  return Buffer.concat([header, ifd, ...extra, pixels]);
}

/**
 * Makes a FIFO (named pipe) at `p` with the system's mkfifo; false where there is none (e.g. Windows), so the cases
 * that need one can be skipped.
 */
export function makeFifo(p: string): boolean {
  try {
    execFileSync('mkfifo', [p], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether this platform can make a FIFO (tried once in a temporary folder). */
export const CAN_MKFIFO: boolean = (() => {
  if (process.platform === 'win32') return false;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cmir-fifo-probe-'));
  try {
    return makeFifo(path.join(dir, 'p'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** A listening Unix-domain socket at `p` (a socket file); close the server to remove it. */
export function makeSocket(p: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(p, () => resolve(server));
  });
}
