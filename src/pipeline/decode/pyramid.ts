/**
 * Whole-slide images: pyramidal TIFF, BigTIFF, OME-TIFF and Aperio SVS read region by region, never decoded whole
 * (issue 18). The structure (levels, tiles, compression, pixel size) comes from the TIFF tags, read with geotiff.js
 * (libvips does not expose ImageDescription, where OME and SVS keep the pixel size); the pixels come from sharp,
 * whose libvips decodes only the tiles a region needs.
 */
import { fromFile, type GeoTIFF } from 'geotiff';
import sharp, { type OutputInfo } from 'sharp';
import { UnsupportedImageError } from '../../errors.ts';
import type { PlanarImage, Region } from '../types.ts';

/** One resolution of the pyramid. `page`/`subifd` address it for sharp. */
export interface PyramidLevel {
  page: number;
  /** Index into the page's SubIFDs (OME-TIFF pyramids); null for a level that is a page of its own. */
  subifd: number | null;
  width: number;
  height: number;
  /** Full-resolution pixels per pixel of this level (>= 1). */
  downsample: number;
  tileWidth: number | null;
  tileHeight: number | null;
}

export type PixelSizeSource = 'ome' | 'svs' | 'tiff-resolution';

export interface PyramidInfo {
  width: number;
  height: number;
  /** Colour channels of the stored pixels (1 grey, 3 RGB). */
  channels: 1 | 3;
  bitDepth: 8 | 16;
  /** Largest to smallest; levels[0] is full resolution. */
  levels: PyramidLevel[];
  /** Micrometres per full-resolution pixel, when the file says; see PIXEL_SIZE_RANGE. */
  micronsPerPixel: number | null;
  pixelSizeSource: PixelSizeSource | null;
  /** TIFF compression of the full-resolution level, by name. */
  compression: string;
  tiled: boolean;
}

/** TIFF Compression tag values (TIFF 6.0 section 8; Adobe/Aperio/libtiff registrations) and their names. */
const COMPRESSIONS: Record<number, string> = {
  1: 'none',
  5: 'lzw',
  6: 'old-jpeg',
  7: 'jpeg',
  8: 'deflate',
  32773: 'packbits',
  32946: 'deflate',
  33003: 'aperio-jpeg2000-ycbcr',
  33005: 'aperio-jpeg2000-rgb',
  34712: 'jpeg2000',
  34887: 'lerc',
  34925: 'lzma',
  50000: 'zstd',
  50001: 'webp',
  52546: 'jpeg-xl',
};

/**
 * Compressions sharp's libvips decodes here (measured: JPEG 2000, as in Aperio 33003/33005, is not built in; libtiff
 * reads an unknown scheme's tiles as black with a warning, test/unit/pyramid.test.ts).
 */
const DECODABLE = new Set([1, 5, 7, 8, 32773, 32946, 50000, 50001]);

/**
 * Pixel sizes outside this range (micrometres) are not a microscope's: libvips and other writers put a default
 * resolution (72 dpi = 353 um, or 1 px/mm = 1000 um) into files that never had one, and it must not pass as real.
 * Scanners image at 0.1-1 um/px (10x-80x objectives); a stitched overview camera at tens of um.
 */
export const PIXEL_SIZE_RANGE = { min: 0.01, max: 50 } as const;

/** A level is part of the pyramid when its aspect ratio is the full level's within this (SVS label/macro are not). */
const ASPECT_TOLERANCE = 0.02;

function plausible(um: number | null): number | null {
  return um !== null && Number.isFinite(um) && um >= PIXEL_SIZE_RANGE.min && um <= PIXEL_SIZE_RANGE.max ? um : null;
}

const UNIT_TO_UM: Record<string, number> = { pm: 1e-6, nm: 1e-3, 'µm': 1, um: 1, 'μm': 1, mm: 1e3, cm: 1e4, m: 1e6 };

/** The pixel size in an ImageDescription: OME-XML PhysicalSizeX (with its unit, default um) or Aperio's `MPP = x`. */
export function pixelSizeFromDescription(description: string | undefined): { um: number; source: PixelSizeSource } | null {
  if (!description) return null;
  if (/<(?:\w+:)?OME\b/.test(description)) {
    const pixels = /<(?:\w+:)?Pixels\b[^>]*>/.exec(description)?.[0];
    const size = pixels && /\bPhysicalSizeX="([^"]+)"/.exec(pixels)?.[1];
    if (size === undefined || size === null) return null;
    const unit = (pixels && /\bPhysicalSizeXUnit="([^"]+)"/.exec(pixels)?.[1]) ?? 'µm';
    const um = plausible(Number(size) * (UNIT_TO_UM[unit] ?? NaN));
    return um === null ? null : { um, source: 'ome' };
  }
  if (description.startsWith('Aperio')) {
    const mpp = /\|\s*MPP\s*=\s*([0-9.eE+-]+)/.exec(description)?.[1];
    const um = plausible(mpp === undefined ? null : Number(mpp));
    return um === null ? null : { um, source: 'svs' };
  }
  return null;
}

/** The pixel size from XResolution/ResolutionUnit (2 inch, 3 centimetre; 1 = no unit, no size). */
function pixelSizeFromResolution(xres: unknown, unit: unknown): number | null {
  const r = Array.isArray(xres) || ArrayBuffer.isView(xres) ? (xres as ArrayLike<number>) : null;
  const perUnit = r ? r[0] / (r[1] || 1) : typeof xres === 'number' ? xres : NaN;
  if (!(perUnit > 0)) return null;
  if (unit === 3) return plausible(1e4 / perUnit);
  if (unit === 2 || unit === undefined) return plausible(25400 / perUnit);
  return null;
}

function unsupported(file: string, why: string): UnsupportedImageError {
  return new UnsupportedImageError(`${file.split(/[\\/]/).pop()}: ${why}`);
}

/**
 * Reads the pyramid's structure from the TIFF tags, without decoding pixels. `page` is the full-resolution image to
 * use (an OME-TIFF's channel or plane); its pyramid is its SubIFDs when it has them, else the reduced-resolution pages
 * that follow it. Throws UNSUPPORTED_IMAGE with the reason for a file that is not a TIFF, is truncated in its
 * directories, or uses a compression libvips cannot decode.
 */
export async function readPyramid(file: string, page = 0): Promise<PyramidInfo> {
  let tiff: GeoTIFF;
  try {
    tiff = await fromFile(file);
  } catch (e) {
    throw unsupported(file, `not a TIFF file (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    const count = await tiff.getImageCount().catch((e: Error) => {
      throw unsupported(file, `its image directories cannot be read (truncated or corrupt: ${e.message.split('\n')[0]})`);
    });
    if (page >= count) throw unsupported(file, `page ${page} requested but the file has ${count} page(s)`);
    const base = await tiff.getImage(page);
    const fd = base.fileDirectory;
    const width = base.getWidth(), height = base.getHeight();
    if (!(width > 0 && height > 0)) throw unsupported(file, 'its first image has no pixels (not a TIFF image, or corrupt)');
    const code = Number(fd.getValue('Compression') ?? 1);
    const compression = COMPRESSIONS[code] ?? `tiff-compression-${code}`;
    // libtiff reads a tile it cannot decode as a warning and black pixels, so what libvips cannot decode is refused here
    if (!DECODABLE.has(code)) throw unsupported(file, `its compression ${compression} (TIFF code ${code}) is not supported (${[...DECODABLE].map((c) => COMPRESSIONS[c]).join(', ')})`);
    const bits = fd.getValue('BitsPerSample') as ArrayLike<number> | number | undefined;
    const bitDepth = Number(typeof bits === 'number' ? bits : (bits?.[0] ?? 8));
    if (bitDepth !== 8 && bitDepth !== 16) throw unsupported(file, `${bitDepth}-bit samples are not supported (8 or 16)`);
    const samples = Number(fd.getValue('SamplesPerPixel') ?? 1);
    const description = (await fd.loadValue('ImageDescription').catch(() => undefined)) as string | undefined;
    const fromText = pixelSizeFromDescription(description);
    const fromTags = fromText ? null : pixelSizeFromResolution(await fd.loadValue('XResolution'), await fd.loadValue('ResolutionUnit'));
    const tile = (im: typeof base) => (im.isTiled ? { tileWidth: im.getTileWidth(), tileHeight: im.getTileHeight() } : { tileWidth: null, tileHeight: null });

    const levels: PyramidLevel[] = [{ page, subifd: null, width, height, downsample: 1, ...tile(base) }];
    const subifds = (await fd.loadValue('SubIFDs').catch(() => undefined)) as ArrayLike<number> | undefined;
    if (subifds && subifds.length > 0) {
      // OME-TIFF: the reduced levels are SubIFDs of the full-resolution page; sharp reads them by index
      for (let i = 0; i < subifds.length; i++) {
        const m = await sharp(file, { page, subifd: i, limitInputPixels: false }).metadata();
        levels.push({ page, subifd: i, width: m.width!, height: m.height!, downsample: width / m.width!, tileWidth: null, tileHeight: null });
      }
    } else {
      // every later page of the slide's aspect that is smaller is a level: in SVS a small striped thumbnail comes
      // between the full level and the tiled reduced ones, so they are collected, then ordered by size (the largest
      // page of a size wins; label and macro images have another aspect)
      const found: PyramidLevel[] = [];
      for (let p = page + 1; p < count; p++) {
        const im = await tiff.getImage(p);
        const w = im.getWidth(), h = im.getHeight();
        if (w >= width || h === 0 || Math.abs(w / h - width / height) > ASPECT_TOLERANCE * (width / height)) continue;
        if (!im.isTiled && w * h > 4096 * 4096) continue; // a striped overview is no level to read regions from
        found.push({ page: p, subifd: null, width: w, height: h, downsample: width / w, ...tile(im) });
      }
      found.sort((a, b) => b.width - a.width || Number(b.tileWidth !== null) - Number(a.tileWidth !== null));
      for (const l of found) if (l.width < levels[levels.length - 1].width) levels.push(l);
    }
    return {
      width,
      height,
      channels: samples >= 3 ? 3 : 1,
      bitDepth,
      levels,
      micronsPerPixel: fromText?.um ?? fromTags,
      pixelSizeSource: fromText ? fromText.source : fromTags !== null ? 'tiff-resolution' : null,
      compression,
      tiled: base.isTiled,
    };
  } finally {
    await tiff.close?.();
  }
}

/** The coarsest level with at least `scale` x full resolution (so a region is never upsampled more than it must). */
export function levelFor(info: PyramidInfo, scale: number): PyramidLevel {
  let best = info.levels[0];
  for (const level of info.levels) if (1 / level.downsample >= scale * (1 - 1e-6) && level.downsample > best.downsample) best = level;
  return best;
}

export interface RegionOptions {
  /** Output pixels per full-resolution pixel (<= 1 downsamples); default 1. */
  scale?: number;
  /** Exact output size (overrides the size `scale` gives, for grids whose boxes are rounded). */
  size?: { width: number; height: number };
  /** Output channels: 1 grey (rgb2gray), or the file's own. Default: the file's. */
  channels?: 1 | 3;
  /** sharp's failOn; default 'truncated' (scanners' JPEG tiles often carry harmless warnings). */
  failOn?: 'truncated' | 'warning';
}

/**
 * A region of the slide (full-resolution pixel coordinates, clipped to the slide; outside it reads as nothing) at
 * `scale`, as interleaved floats in [0,1]. Reads from the level that needs the least work (levelFor) and resizes
 * with sharp's Lanczos; only the tiles under the region are decoded.
 */
export async function readRegion(file: string, info: PyramidInfo, region: Region, opts: RegionOptions = {}): Promise<PlanarImage> {
  const scale = opts.scale ?? 1;
  const x0 = Math.max(0, Math.floor(region.x)), y0 = Math.max(0, Math.floor(region.y));
  const x1 = Math.min(info.width, Math.ceil(region.x + region.width)), y1 = Math.min(info.height, Math.ceil(region.y + region.height));
  if (x1 <= x0 || y1 <= y0) throw new RangeError(`region ${JSON.stringify(region)} lies outside the ${info.width}x${info.height} slide`);
  const outW = opts.size?.width ?? Math.max(1, Math.round((x1 - x0) * scale));
  const outH = opts.size?.height ?? Math.max(1, Math.round((y1 - y0) * scale));
  const level = levelFor(info, scale);
  const d = level.downsample;
  const lx = Math.min(level.width - 1, Math.floor(x0 / d)), ly = Math.min(level.height - 1, Math.floor(y0 / d));
  const lw = Math.max(1, Math.min(level.width - lx, Math.ceil(x1 / d) - lx)), lh = Math.max(1, Math.min(level.height - ly, Math.ceil(y1 / d) - ly));
  const channels = opts.channels ?? info.channels;
  const sixteen = info.bitDepth === 16;
  let pipeline = sharp(file, { page: level.page, ...(level.subifd !== null ? { subifd: level.subifd } : {}), limitInputPixels: false, failOn: opts.failOn ?? 'truncated' })
    .extract({ left: lx, top: ly, width: lw, height: lh });
  if (lw !== outW || lh !== outH) pipeline = pipeline.resize(outW, outH, { fit: 'fill', kernel: 'lanczos3' });
  pipeline = channels === 1 ? pipeline.toColourspace(sixteen ? 'grey16' : 'b-w') : pipeline.removeAlpha().toColourspace(sixteen ? 'rgb16' : 'srgb');
  let raw: Buffer, out: OutputInfo;
  try {
    ({ data: raw, info: out } = await pipeline.raw({ depth: sixteen ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw unsupported(file, `cannot decode the region at level ${info.levels.indexOf(level)} (${info.compression}): ${(e as Error).message.split('\n')[0]}`);
  }
  const samples = sixteen ? new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2) : raw;
  const k = 1 / (sixteen ? 65535 : 255);
  const data = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) data[i] = samples[i] * k;
  return { width: out.width, height: out.height, channels: out.channels, data };
}

/**
 * Checks that the pyramid decodes: its smallest level whole and one full-resolution tile. A slide whose compression
 * libvips lacks, or whose data is truncated, fails here with the reason, before anything is stored.
 */
export async function validatePyramid(file: string, info: PyramidInfo): Promise<void> {
  const smallest = info.levels[info.levels.length - 1];
  const side = Math.min(256, info.width, info.height);
  // strict: a warning (a tile libtiff could not decode) fails too
  await readRegion(file, info, { x: 0, y: 0, width: info.width, height: info.height }, { scale: 1 / smallest.downsample, failOn: 'warning' }).catch((e: Error) => {
    throw unsupported(file, `its smallest level does not decode (${info.compression}): ${e.message}`);
  });
  const cx = Math.floor((info.width - side) / 2), cy = Math.floor((info.height - side) / 2);
  await readRegion(file, info, { x: cx, y: cy, width: side, height: side }, { failOn: 'warning' }).catch((e: Error) => {
    throw unsupported(file, `its full-resolution tiles do not decode (${info.compression}): ${e.message}`);
  });
}

/** A thumbnail PNG of a whole-slide image (longer side `size` px), read from its smallest sufficient level. */
export async function pyramidThumbnailPng(file: string, info: PyramidInfo, size: number): Promise<Buffer> {
  const scale = Math.min(1, size / Math.max(info.width, info.height));
  const img = await readRegion(file, info, { x: 0, y: 0, width: info.width, height: info.height }, { scale });
  const samples = Buffer.alloc(img.data.length);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.min(1, Math.max(0, img.data[i])) * 255);
  return sharp(samples, { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 } }).png().toBuffer();
}
