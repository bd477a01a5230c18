/**
 * Deep-zoom tiles: a region of a stored image at a given output size, encoded as JPEG or PNG (the IIIF endpoint,
 * src/services/tile.service.ts). A pyramidal tiled TIFF is read from the coarsest level still fine enough
 * (pyramid.ts levelFor), so only the TIFF tiles under the region of that level are decoded; any other image (PNG,
 * JPEG, untiled or single-level TIFF) is cut from the file with sharp.
 *
 * 16-bit images (SHG and other dim microscopy) are unreadable as plain 8-bit, so they are stretched: the
 * STRETCH_PERCENTILES of the whole image (its smallest level) map to 0 and 255. The stretch is computed once per
 * image (TileSource.stretch) and applied to every tile, so the tiles of one image share one contrast. 8-bit images
 * are served as stored.
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { UnsupportedImageError } from '../../errors.ts';
import type { Region } from '../types.ts';
import { percentiles, STRETCH_PERCENTILES } from './decode.ts';
import type { IiifFormat, IiifQuality } from './iiif.ts';
import { levelFor, type PyramidInfo, type PyramidLevel, readPyramid } from './pyramid.ts';

/** JPEG quality of the tiles. */
export const TILE_JPEG_QUALITY = 85;

/** How an image's tiles are read, decided once per file (the service caches it by sha256). */
export interface TileSource {
  kind: 'pyramid' | 'plain';
  width: number;
  height: number;
  channels: 1 | 3;
  bitDepth: 8 | 16;
  /** Largest to smallest; a plain image has one level (its page). */
  levels: PyramidLevel[];
  /** The pyramid's structure (pyramid.ts), for a pyramid. */
  pyramid: PyramidInfo | null;
  /** 16-bit images: the sample values that map to 0 and 255; null for 8-bit images. */
  stretch: { lo: number; hi: number } | null;
}

/** The image at `file` (page `page`): a pyramid when it is a TIFF with reduced levels, else a plain image. */
export async function openTileSource(file: string, page: number): Promise<TileSource> {
  let pyramid: PyramidInfo | null = null;
  try {
    pyramid = await readPyramid(file, page);
  } catch (e) {
    if (!(e instanceof UnsupportedImageError)) throw e; // not a TIFF, or one readPyramid refuses: read it plainly
  }
  let source: TileSource;
  if (pyramid && pyramid.levels.length > 1) {
    source = { kind: 'pyramid', width: pyramid.width, height: pyramid.height, channels: pyramid.channels, bitDepth: pyramid.bitDepth, levels: pyramid.levels, pyramid, stretch: null };
  } else {
    let meta: Metadata;
    try {
      meta = await sharp(file, { page, limitInputPixels: false }).metadata();
    } catch (e) {
      throw new UnsupportedImageError(`the stored file cannot be read: ${(e as Error).message.split('\n')[0]}`);
    }
    const width = meta.width ?? 0, height = meta.height ?? 0;
    const colour = (meta.channels ?? 1) - (meta.hasAlpha ? 1 : 0);
    const bitDepth = meta.depth === 'ushort' || meta.depth === 'short' ? 16 : 8;
    const level: PyramidLevel = { page, subifd: null, width, height, downsample: 1, tileWidth: null, tileHeight: null };
    source = { kind: 'plain', width, height, channels: colour >= 3 ? 3 : 1, bitDepth, levels: [level], pyramid: null, stretch: null };
  }
  if (source.bitDepth === 16) {
    source.stretch = await stretchOf(file, source).catch((e: Error) => {
      throw new UnsupportedImageError(`the stored image's smallest level cannot be decoded: ${e.message.split('\n')[0]}`);
    });
  }
  return source;
}

/** Longer side of the overview the 16-bit stretch is measured on. */
const STRETCH_OVERVIEW = 1024;

/** The STRETCH_PERCENTILES of the image's samples (all channels), measured on its smallest level. */
async function stretchOf(file: string, source: TileSource): Promise<{ lo: number; hi: number }> {
  const smallest = source.levels[source.levels.length - 1];
  const { data } = await open(file, smallest)
    .resize(STRETCH_OVERVIEW, STRETCH_OVERVIEW, { fit: 'inside', withoutEnlargement: true })
    .removeAlpha()
    .toColourspace(source.channels === 1 ? 'grey16' : 'rgb16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const samples = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  const values = Float32Array.from(samples, (v) => v / 65535);
  const [lo, hi] = percentiles(values, STRETCH_PERCENTILES).map((p) => Math.round(p * 65535));
  return hi > lo ? { lo, hi } : { lo: 0, hi: 65535 };
}

function open(file: string, level: PyramidLevel): Sharp {
  return sharp(file, {
    page: level.page,
    ...(level.subifd !== null ? { subifd: level.subifd } : {}),
    limitInputPixels: false,
    failOn: 'truncated',
  });
}

export interface TileRequest {
  /** Full-resolution pixels, inside the image. */
  region: Region;
  /** Output size. */
  width: number;
  height: number;
  quality: IiifQuality;
  format: IiifFormat;
}

/** The output channels: `gray` 1, `color` 3, `default` the image's own. */
export function outputChannels(source: TileSource, quality: IiifQuality): 1 | 3 {
  return quality === 'gray' ? 1 : quality === 'color' ? 3 : source.channels;
}

/**
 * The level a request reads and the pipeline that cuts it: the region in the level's pixels is widened to whole
 * pixels, resized so one output pixel covers the requested area, and the exact window cut out again, so a tile read
 * from a reduced level stays aligned with the full-resolution grid (levels are not exact halves: 1500 -> 187 px).
 */
function regionPipeline(file: string, source: TileSource, req: TileRequest): Sharp {
  const { region, width: outW, height: outH } = req;
  const level = source.pyramid ? levelFor(source.pyramid, Math.max(outW / region.width, outH / region.height)) : source.levels[0];
  const dx = source.width / level.width, dy = source.height / level.height;
  const fx0 = region.x / dx, fy0 = region.y / dy, fx1 = (region.x + region.width) / dx, fy1 = (region.y + region.height) / dy;
  const lx0 = Math.min(level.width - 1, Math.floor(fx0 + 1e-9)), ly0 = Math.min(level.height - 1, Math.floor(fy0 + 1e-9));
  const lx1 = Math.max(lx0 + 1, Math.min(level.width, Math.ceil(fx1 - 1e-9))), ly1 = Math.max(ly0 + 1, Math.min(level.height, Math.ceil(fy1 - 1e-9)));
  const lw = lx1 - lx0, lh = ly1 - ly0;
  // output pixels per level pixel
  const kx = outW / (fx1 - fx0), ky = outH / (fy1 - fy0);
  const ox = Math.max(0, Math.round((fx0 - lx0) * kx)), oy = Math.max(0, Math.round((fy0 - ly0) * ky));
  const rw = Math.max(ox + outW, Math.round(lw * kx)), rh = Math.max(oy + outH, Math.round(lh * ky));
  let p = open(file, level).extract({ left: lx0, top: ly0, width: lw, height: lh });
  if (rw !== lw || rh !== lh) p = p.resize(rw, rh, { fit: 'fill', kernel: 'lanczos3' });
  if (ox !== 0 || oy !== 0 || rw !== outW || rh !== outH) p = p.extract({ left: ox, top: oy, width: outW, height: outH });
  return p;
}

/** Renders one request (already validated and resolved: parseIiifRequest) as JPEG or PNG bytes. */
export async function renderTile(file: string, source: TileSource, req: TileRequest): Promise<Buffer> {
  const channels = outputChannels(source, req.quality);
  const p = regionPipeline(file, source, req).removeAlpha();
  let out: Sharp;
  try {
    if (source.stretch === null) {
      out = p.toColourspace(channels === 1 ? 'b-w' : 'srgb');
    } else {
      const { data, info } = await p.toColourspace(channels === 1 ? 'grey16' : 'rgb16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      const lut = stretchLut(source.stretch);
      const samples = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      const bytes = Buffer.allocUnsafe(samples.length);
      for (let i = 0; i < samples.length; i++) bytes[i] = lut[samples[i]];
      // raw input is written as sRGB unless told: a grey tile stays grey
      out = sharp(bytes, { raw: { width: info.width, height: info.height, channels: info.channels as 1 | 3 } }).toColourspace(channels === 1 ? 'b-w' : 'srgb');
    }
    return await (req.format === 'png' ? out.png() : out.jpeg({ quality: TILE_JPEG_QUALITY })).toBuffer();
  } catch (e) {
    throw new UnsupportedImageError(`the stored image cannot be rendered: ${(e as Error).message.split('\n')[0]}`);
  }
}

const luts = new WeakMap<{ lo: number; hi: number }, Uint8Array>();

/** 16-bit sample -> 8-bit value under a stretch (one table per image, built once). */
function stretchLut(stretch: { lo: number; hi: number }): Uint8Array {
  let lut = luts.get(stretch);
  if (!lut) {
    lut = new Uint8Array(65536);
    const k = 255 / (stretch.hi - stretch.lo);
    for (let v = 0; v < 65536; v++) lut[v] = Math.min(255, Math.max(0, Math.round((v - stretch.lo) * k)));
    luts.set(stretch, lut);
  }
  return lut;
}
