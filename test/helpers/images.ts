import sharp from 'sharp';

/** Small generated test images: deterministic patterns, every supported depth, channel count and format. */
export interface GenOptions {
  width?: number;
  height?: number;
  channels?: 1 | 3;
  bitDepth?: 8 | 16;
  format?: 'png' | 'tiff' | 'jpeg';
  /** Varies the pattern so that images differ (and so do their checksums). */
  seed?: number;
}

/** A smooth pattern with structure at several scales, plus the seed, so SURF-style features have something to see. */
export function pattern(width: number, height: number, channels: number, seed: number): Float32Array {
  const out = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v =
          0.5 +
          0.25 * Math.sin((x + seed * 13) / (5 + c)) * Math.cos((y - seed * 7) / 7) +
          0.2 * Math.sin((x * y) / (200 + seed * 17));
        out[(y * width + x) * channels + c] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}

export async function makeImage(opts: GenOptions = {}): Promise<Buffer> {
  const { width = 64, height = 48, channels = 1, bitDepth = 8, format = 'png', seed = 0 } = opts;
  const values = pattern(width, height, channels, seed);
  const max = bitDepth === 16 ? 65535 : 255;
  const raw = bitDepth === 16 ? new Uint16Array(values.length) : new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) raw[i] = Math.round(values[i] * max);
  let img = sharp(raw, { raw: { width, height, channels } });
  img = img.toColourspace(bitDepth === 16 ? (channels === 1 ? 'grey16' : 'rgb16') : channels === 1 ? 'b-w' : 'srgb');
  if (format === 'png') return img.png().toBuffer();
  if (format === 'jpeg') return img.jpeg({ quality: 95 }).toBuffer();
  // sharp writes JPEG-compressed TIFFs by default (stack.md "sharp traps"): LZW keeps them lossless.
  return img.tiff({ compression: 'lzw' }).toBuffer();
}

/** A two-page TIFF of equal-sized pages with different content (seeds 1 and 2). */
export async function makeMultiPageTiff(width = 64, height = 48): Promise<Buffer> {
  const pages = [await makeImage({ width, height, seed: 1 }), await makeImage({ width, height, seed: 2 })];
  return sharp(pages, { join: { animated: true } }).tiff({ compression: 'lzw' }).toBuffer();
}

export const corrupt = {
  empty: () => Buffer.alloc(0),
  garbage: () => Buffer.from('II*\0 this is not really a tiff file at all'),
  text: () => Buffer.from('hello, world\n'),
  truncated: async () => {
    const full = await makeImage({ width: 256, height: 256, format: 'png', seed: 5 });
    return full.subarray(0, Math.floor(full.length / 2));
  },
};

/** A grey image (values 0..1) as an 8-bit PNG. */
export function greyPng(img: { width: number; height: number; data: Float32Array }): Promise<Buffer> {
  const bytes = Uint8Array.from(img.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  return sharp(bytes, { raw: { width: img.width, height: img.height, channels: 1 } }).png().toBuffer();
}
