/**
 * IIIF Image API 3.0 request parameters (https://iiif.io/api/image/3.0/#4-image-requests), level 1: parsed and
 * validated up front, resolved against the image's size and the server's output limits, before any pixel is read.
 * Pure: no I/O, no Prisma, no Apollo. A malformed or unsupported parameter throws BAD_USER_INPUT with the reason.
 *
 * Supported: region `full`, `square`, `x,y,w,h`; size `max`, `w,`, `,h`, `w,h`, `!w,h`; rotation `0`; quality
 * `default`, `color`, `gray`; format `jpg`, `png`. Refused as beyond level 1: `pct:` regions and sizes, upscaling
 * (`^`), rotation other than 0, mirroring (`!`), `bitonal`, other formats.
 */
import { BadUserInputError, invalidParameter } from '../../errors.ts';
import type { Region } from '../types.ts';

export const IIIF_QUALITIES = ['default', 'color', 'gray'] as const;
export type IiifQuality = (typeof IIIF_QUALITIES)[number];
export const IIIF_FORMATS = ['jpg', 'png'] as const;
export type IiifFormat = (typeof IIIF_FORMATS)[number];

/** What the server will render at most (info.json `maxWidth`, `maxHeight`, `maxArea`). */
export interface IiifLimits {
  maxWidth: number;
  maxHeight: number;
  maxArea: number;
}

/** The raw path segments of an image request: `{region}/{size}/{rotation}/{quality}.{format}`. */
export interface IiifParams {
  region: string;
  size: string;
  rotation: string;
  quality: string;
  format: string;
}

/** Splits the URL's last segment, `{quality}.{format}`, at its last dot (no dot: the format is empty, and refused). */
export function splitQualityFormat(segment: string): { quality: string; format: string } {
  const dot = segment.lastIndexOf('.');
  return dot < 0 ? { quality: segment, format: '' } : { quality: segment.slice(0, dot), format: segment.slice(dot + 1) };
}

/** A request resolved against the image: the region in full-resolution pixels (inside the image) and the output size. */
export interface IiifRequest {
  region: Region;
  width: number;
  height: number;
  rotation: 0;
  quality: IiifQuality;
  format: IiifFormat;
  /** The resolved request, one spelling per output (`full` and `0,0,W,H` are the same): what caches and ETags key on. */
  canonical: string;
}

const LEVEL = 'this server implements IIIF Image API 3.0 level 1';

function beyondLevel1(what: string, value: string): BadUserInputError {
  return new BadUserInputError(`${what} ${JSON.stringify(value)} is not supported: ${LEVEL}`, { parameter: what.split(' ')[0] });
}

/** A non-negative integer in decimal digits only (no sign, no fraction, no exponent). */
function integer(text: string): number | null {
  if (!/^[0-9]{1,15}$/.test(text)) return null;
  return Number(text);
}

function parseRegion(text: string, width: number, height: number): Region {
  if (text === 'full') return { x: 0, y: 0, width, height };
  if (text === 'square') {
    const side = Math.min(width, height);
    return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), width: side, height: side };
  }
  if (text.startsWith('pct:')) throw beyondLevel1('region', text);
  const parts = text.split(',');
  const nums = parts.length === 4 ? parts.map(integer) : [];
  if (nums.length !== 4 || nums.some((n) => n === null)) {
    throw invalidParameter('region', '"full", "square" or "x,y,w,h" in non-negative integer pixels', text);
  }
  const [x, y, w, h] = nums as number[];
  if (w === 0 || h === 0) throw invalidParameter('region', 'a region of non-zero width and height', text);
  if (x >= width || y >= height) {
    throw new BadUserInputError(`region ${JSON.stringify(text)} lies outside the ${width}x${height} image`, { parameter: 'region' });
  }
  // A region reaching past the image is cropped to it (the spec's rule), never padded.
  return { x, y, width: Math.min(w, width - x), height: Math.min(h, height - y) };
}

/** The largest size of the region that fits the limits, aspect ratio kept, never upscaled. */
function confined(rw: number, rh: number, scale: number, limits: IiifLimits): { width: number; height: number } {
  const s = Math.min(1, scale, limits.maxWidth / rw, limits.maxHeight / rh, Math.sqrt(limits.maxArea / (rw * rh)));
  let width = Math.max(1, Math.min(limits.maxWidth, Math.round(rw * s)));
  let height = Math.max(1, Math.min(limits.maxHeight, Math.round(rh * s)));
  if (width * height > limits.maxArea) {
    width = Math.max(1, Math.floor(rw * s));
    height = Math.max(1, Math.floor(rh * s));
  }
  return { width, height };
}

function parseSize(text: string, region: Region, limits: IiifLimits): { width: number; height: number } {
  const { width: rw, height: rh } = region;
  if (text.startsWith('^')) {
    throw new BadUserInputError(`size ${JSON.stringify(text)} asks for upscaling (^), which is not supported: ${LEVEL}`, { parameter: 'size' });
  }
  if (text === 'max') return confined(rw, rh, 1, limits);
  if (text.startsWith('pct:')) throw beyondLevel1('size', text);
  const bang = text.startsWith('!');
  const parts = (bang ? text.slice(1) : text).split(',');
  const expected = '"max", "w,", ",h", "w,h" or "!w,h" in positive integer pixels';
  if (parts.length !== 2) throw invalidParameter('size', expected, text);
  const [w, h] = parts.map((p) => (p === '' ? null : integer(p)));
  if ((parts[0] !== '' && w === null) || (parts[1] !== '' && h === null) || (w === null && h === null) || w === 0 || h === 0) {
    throw invalidParameter('size', expected, text);
  }
  if (bang) {
    if (w === null || h === null) throw invalidParameter('size', expected, text);
    return confined(rw, rh, Math.min(w / rw, h / rh), limits);
  }
  const width = w ?? Math.max(1, Math.round((rw * h!) / rh));
  const height = h ?? Math.max(1, Math.round((rh * w!) / rw));
  if (width > rw || height > rh) {
    throw new BadUserInputError(
      `size ${JSON.stringify(text)} (${width}x${height}) is larger than the ${rw}x${rh} region; upscaling (^) is not supported: ${LEVEL}`,
      { parameter: 'size' },
    );
  }
  if (width > limits.maxWidth || height > limits.maxHeight || width * height > limits.maxArea) {
    throw new BadUserInputError(
      `size ${JSON.stringify(text)} (${width}x${height}) exceeds the server's limits: at most ${limits.maxWidth}x${limits.maxHeight} and ${limits.maxArea} pixels (info.json maxWidth, maxHeight, maxArea)`,
      { parameter: 'size' },
    );
  }
  return { width, height };
}

function parseRotation(text: string): 0 {
  if (/^[0-9]{1,3}(\.[0-9]+)?$/.test(text) && Number(text) === 0) return 0;
  if (/^!?[0-9]{1,3}(\.[0-9]+)?$/.test(text) && Number(text.replace('!', '')) <= 360) {
    throw new BadUserInputError(
      `rotation ${JSON.stringify(text)} is not supported: ${LEVEL}, which serves rotation 0 only${text.startsWith('!') ? ' (no mirroring)' : ''}`,
      { parameter: 'rotation' },
    );
  }
  throw invalidParameter('rotation', 'a number of degrees between 0 and 360 (only 0 is supported)', text);
}

function parseQualityFormat(quality: string, format: string): { quality: IiifQuality; format: IiifFormat } {
  if (!(IIIF_QUALITIES as readonly string[]).includes(quality)) {
    if (quality === 'bitonal') throw beyondLevel1('quality', quality);
    throw invalidParameter('quality', IIIF_QUALITIES.map((q) => `"${q}"`).join(', '), quality);
  }
  if (!(IIIF_FORMATS as readonly string[]).includes(format)) {
    throw invalidParameter('format', IIIF_FORMATS.map((f) => `"${f}"`).join(' or '), format);
  }
  return { quality: quality as IiifQuality, format: format as IiifFormat };
}

/**
 * Parses and validates an image request against an image of `width` x `height` and the output limits; the first bad
 * parameter, in the URL's order, is the one reported.
 */
export function parseIiifRequest(params: IiifParams, image: { width: number; height: number }, limits: IiifLimits): IiifRequest {
  const region = parseRegion(params.region, image.width, image.height);
  const { width, height } = parseSize(params.size, region, limits);
  const rotation = parseRotation(params.rotation);
  const { quality, format } = parseQualityFormat(params.quality, params.format);
  return {
    region,
    width,
    height,
    rotation,
    quality,
    format,
    canonical: `${region.x},${region.y},${region.width},${region.height}/${width},${height}/0/${quality}.${format}`,
  };
}

/** Scale factors of a tile pyramid: 1, 2, 4, ... down to the first level whose longer side fits one tile. */
export function scaleFactors(width: number, height: number, tileSize: number): number[] {
  const out = [1];
  while (Math.ceil(Math.max(width, height) / out[out.length - 1]) > tileSize) out.push(out[out.length - 1] * 2);
  return out;
}
