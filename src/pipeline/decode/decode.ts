/**
 * Image decoding with sharp: one pipeline for every consumer (after immich's media repository), validated up front.
 * Bad files never crash the process: they become UNSUPPORTED_IMAGE or PAYLOAD_TOO_LARGE.
 */
import sharp, { type Metadata } from 'sharp';
import { PayloadTooLargeError, UnsupportedImageError } from '../../errors.ts';
import type { GreyImage, PlanarImage } from '../types.ts';
import { eosinChannel } from './stain.ts';

// Our own concurrency comes from Node's event loop; no sharp cache of files (immich media.repository.ts).
sharp.cache({ files: 0 });

export const SUPPORTED_FORMATS = ['tiff', 'png', 'jpeg'] as const;
export type ImageFormat = (typeof SUPPORTED_FORMATS)[number];

/** What an image file holds, read from its header (and checked by a full decode at ingest). */
export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
  /** Colour channels without alpha: 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
  bitDepth: 8 | 16;
  pages: number;
}

export interface DecodeOptions {
  /** Largest accepted width x height. */
  maxPixels: number;
  /** Page of a multi-page TIFF (0-based); default 0. */
  page?: number;
  /**
   * libvips stops decoding after this many seconds (sharp `timeout`), and the file is PAYLOAD_TOO_LARGE; default none.
   */
  timeoutSeconds?: number;
}

/**
 * How a modality's pixel values become [0,1] floats before CoMIR: 'linear' (as decoded), 'log1p' (log(1+x), the
 * reference's SHG rule) or 'percentile' (the image's own 1st..99th percentiles stretched to 0..1, for modalities
 * whose exposure and staining vary between acquisitions: training/README.md) or 'eosin' (the eosin channel of an RGB H&E
 * image by colour deconvolution, 1 channel: stain.ts; a grey image is UNSUPPORTED_IMAGE).
 */
export type Normalization = 'linear' | 'log1p' | 'percentile' | 'eosin';
export const NORMALIZATIONS: readonly Normalization[] = ['linear', 'log1p', 'percentile', 'eosin'];

/** The percentiles 'percentile' stretches to 0 and 1 (training/comir/model.py PERCENTILES). */
export const STRETCH_PERCENTILES = [0.01, 0.99] as const;

function decodeFailure(e: unknown): UnsupportedImageError {
  const msg = e instanceof Error ? e.message : String(e);
  return new UnsupportedImageError(`not a readable TIFF, PNG or JPEG image: ${msg.split('\n')[0]}`);
}

/** Reads the header: format, size, channels, bit depth, page count. Throws typed errors for bad or huge files. */
export async function probeImage(data: Buffer, opts: DecodeOptions): Promise<ImageInfo> {
  if (data.length === 0) throw new UnsupportedImageError('the file is empty (0 bytes)');
  const page = opts.page ?? 0;
  let meta: Metadata;
  try {
    meta = await sharp(data, { limitInputPixels: false, page }).metadata();
  } catch (e) {
    throw decodeFailure(e);
  }
  const format = meta.format as string;
  if (!(SUPPORTED_FORMATS as readonly string[]).includes(format)) {
    throw new UnsupportedImageError(`format ${JSON.stringify(format)} is not supported (TIFF, PNG or JPEG)`, { format });
  }
  const pages = meta.pages ?? 1;
  if (page >= pages) throw new UnsupportedImageError(`page ${page} requested but the file has ${pages} page(s)`);
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new UnsupportedImageError('the image has no pixels');
  if (width * height > opts.maxPixels) {
    // the message names the setting that raises the limit and, for a multi-page file (a pyramid), the smaller pages
    const smaller = pages > 1 ? `; the file has ${pages} pages: ingest a smaller one (a lower pyramid level) with the page option (ingestImage page, cmir ingest --page N)` : '';
    throw new PayloadTooLargeError(`${width}x${height} exceeds the limit of ${opts.maxPixels} pixels (CMIR_MAX_PIXELS)${smaller}`, {
      width,
      height,
      maxPixels: opts.maxPixels,
      setting: 'CMIR_MAX_PIXELS',
      ...(pages > 1 ? { pages } : {}),
    });
  }
  const colour = (meta.channels ?? 1) - (meta.hasAlpha ? 1 : 0);
  const bitDepth = ['ushort', 'short', 'uint', 'int', 'float', 'double'].includes(meta.depth ?? '') ? 16 : 8;
  // signed samples (libvips char, short, int) are refused, not read as unsigned: cmir takes unsigned 8- or 16-bit only
  if (meta.depth === 'char' || meta.depth === 'short' || meta.depth === 'int') {
    throw new UnsupportedImageError(`signed ${meta.depth === 'char' ? '8' : meta.depth === 'short' ? '16' : '32'}-bit samples are not supported (unsigned 8- or 16-bit integers)`);
  }
  if (meta.depth && !['uchar', 'ushort'].includes(meta.depth)) {
    throw new UnsupportedImageError(`sample format ${meta.depth} is not supported (8- or 16-bit integers)`);
  }
  return { format: format as ImageFormat, width, height, channels: colour >= 3 ? 3 : 1, bitDepth, pages };
}

/**
 * Decodes every pixel to interleaved floats in [0,1] (value / (2^bitDepth - 1)); alpha is dropped. A truncated file
 * fails here (sharp `failOn: 'truncated'`, 'error' for TIFF), not later.
 */
export async function decodeImage(data: Buffer, opts: DecodeOptions): Promise<{ info: ImageInfo; image: PlanarImage }> {
  const info = await probeImage(data, opts);
  try {
    // A TIFF strip or tile shorter than its byte count says is a libtiff read *error* that libvips fills with black
    // under 'truncated' (an uncompressed TIFF cut short was ingested: issue 19, test/api/hostile.test.ts); PNG and
    // JPEG keep 'truncated', so that a JPEG's harmless warnings ("extraneous bytes before marker") do not refuse it.
    const failOn = info.format === 'tiff' ? 'error' : 'truncated';
    let pipeline = sharp(data, { limitInputPixels: opts.maxPixels, page: opts.page ?? 0, failOn });
    if (info.channels === 1) pipeline = pipeline.toColourspace(info.bitDepth === 16 ? 'grey16' : 'b-w');
    else pipeline = pipeline.removeAlpha().toColourspace(info.bitDepth === 16 ? 'rgb16' : 'srgb');
    pipeline = pipeline.raw({ depth: info.bitDepth === 16 ? 'ushort' : 'uchar' });
    if (opts.timeoutSeconds) pipeline = pipeline.timeout({ seconds: opts.timeoutSeconds });
    const { data: raw, info: out } = await pipeline.toBuffer({ resolveWithObject: true });
    const samples =
      info.bitDepth === 16 ? new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2) : new Uint8Array(raw);
    const scale = 1 / (info.bitDepth === 16 ? 65535 : 255);
    const channels = out.channels;
    const floats = new Float32Array(samples.length);
    for (let i = 0; i < samples.length; i++) floats[i] = samples[i] * scale;
    return { info, image: { width: out.width, height: out.height, channels, data: floats } };
  } catch (e) {
    // sharp's words when libvips is stopped by `timeout`: "timeout: N% complete"
    if (opts.timeoutSeconds && e instanceof Error && /^timeout: \d+% complete/.test(e.message)) {
      throw new PayloadTooLargeError(`decoding ${info.width}x${info.height} px took longer than ${opts.timeoutSeconds} s (${e.message.split('\n')[0]}); CMIR_DECODE_SECONDS sets the limit`, {
        width: info.width,
        height: info.height,
        decodeSeconds: opts.timeoutSeconds,
        setting: 'CMIR_DECODE_SECONDS',
      });
    }
    throw decodeFailure(e);
  }
}

/**
 * Applies a modality's rule, returning a new image. log1p maps [0,1] to [0, ln 2] (reference-pipeline.md section 2);
 * percentile maps the image's STRETCH_PERCENTILES to 0 and 1, clamped (training/comir/model.py percentile_stretch);
 * eosin takes an RGB image to its 1-channel eosin optical density (stain.ts eosinChannel).
 */
export function normalize(image: PlanarImage, rule: Normalization): PlanarImage {
  if (rule === 'linear') return image;
  if (rule === 'eosin') return eosinChannel(image);
  const out = new Float32Array(image.data.length);
  if (rule === 'log1p') {
    for (let i = 0; i < out.length; i++) out[i] = Math.log1p(image.data[i]);
  } else {
    const [lo, hi] = percentiles(image.data, STRETCH_PERCENTILES);
    const inv = 1 / Math.max(hi - lo, 1 / 255);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, (image.data[i] - lo) * inv));
  }
  return { ...image, data: out };
}

/**
 * Percentiles of values in [0,1] as numpy's method 'lower' (the element at sorted index floor(q (n - 1))), exact for
 * 8- and 16-bit samples: one pass over a 65,536-bin histogram instead of a sort.
 */
export function percentiles(values: Float32Array, qs: readonly number[]): number[] {
  const bins = new Uint32Array(65536);
  for (let i = 0; i < values.length; i++) bins[Math.round(Math.min(1, Math.max(0, values[i])) * 65535)]++;
  return qs.map((q) => {
    const rank = Math.floor(q * (values.length - 1));
    let seen = 0;
    for (let b = 0; b < bins.length; b++) {
      seen += bins[b];
      if (seen > rank) return b / 65535;
    }
    return 1;
  });
}

/** Luminance as MATLAB's rgb2gray (0.2989 R + 0.5870 G + 0.1140 B), which the reference applies before SURF. */
export function toGrey(image: PlanarImage): GreyImage {
  const { width, height, channels, data } = image;
  if (channels === 1) return { width, height, data };
  const out = new Float32Array(width * height);
  for (let i = 0, j = 0; i < out.length; i++, j += channels) {
    out[i] = 0.2989 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2];
  }
  return { width, height, data: out };
}

/** Encodes a [0,1] grey image as a 16-bit PNG (how representations are stored; lossless for 16-bit values). */
export async function encodeGreyPng(image: GreyImage): Promise<Buffer> {
  const samples = new Uint16Array(image.width * image.height);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.min(1, Math.max(0, image.data[i])) * 65535);
  return sharp(samples, { raw: { width: image.width, height: image.height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
}

/** A thumbnail PNG whose longer side is `size` px (8-bit, RGB or grey as the source). */
export async function thumbnailPng(data: Buffer, size: number, opts: DecodeOptions): Promise<Buffer> {
  await probeImage(data, opts);
  try {
    return await sharp(data, { limitInputPixels: opts.maxPixels, page: opts.page ?? 0 })
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .normalise() // 16-bit and dim SHG images are unreadable without a stretch
      .toColourspace('srgb')
      .png()
      .toBuffer();
  } catch (e) {
    throw decodeFailure(e);
  }
}

/**
 * Resamples an image to width x height with sharp's Lanczos-3 (via 16 bits: exact to 1/65535), e.g. a query brought to
 * its model's working resolution.
 */
export async function resizePlanar(image: PlanarImage, width: number, height: number): Promise<PlanarImage> {
  if (width === image.width && height === image.height) return image;
  const samples = new Uint16Array(image.data.length);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.min(1, Math.max(0, image.data[i])) * 65535);
  const channels = image.channels as 1 | 2 | 3 | 4;
  const { data, info } = await sharp(samples, { raw: { width: image.width, height: image.height, channels } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .toColourspace(channels === 1 ? 'grey16' : 'rgb16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const out16 = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  const out = new Float32Array(out16.length);
  for (let i = 0; i < out.length; i++) out[i] = out16[i] / 65535;
  return { width: info.width, height: info.height, channels: info.channels, data: out };
}

/**
 * Grey for a 1-channel network (rgb2gray), grey replicated for a 3-channel one. Deliberate: an image whose channel
 * count differs from its modality's is accepted at ingest and search, converted the way the network's training data
 * was (training/comir/data.py read_image: shg-bf's BF network learnt from grey H&E, vis-nir's NIR one from the first
 * channel of 3-channel JPEGs), so colour H&E scans and grey-as-RGB files need no conversion by the user
 * (test/medium/ingest-channels.test.ts). Not for a network trained on colour H&E (manifest input.colour 'required' or
 * normalization 'eosin'): a grey image is refused there (comir.ts representation, stain.ts).
 */
export function matchChannels(image: PlanarImage, channels: number): PlanarImage {
  if (image.channels === channels) return image;
  const grey = toGrey(image);
  if (channels === 1) return { ...grey, channels: 1 };
  const out = new Float32Array(grey.data.length * channels);
  for (let i = 0; i < grey.data.length; i++) out.fill(grey.data[i], i * channels, i * channels + channels);
  return { width: image.width, height: image.height, channels, data: out };
}
