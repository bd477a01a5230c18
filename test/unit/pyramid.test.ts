/**
 * Whole-slide images without a database: the pyramid read from the TIFF tags (levels, tiles, compression, pixel size),
 * regions read from the right level, the tile plan and the assembly of a slide's CoMIR from its tiles, and tissue
 * detection. Pyramids are written by sharp into a temporary folder; layouts sharp cannot write (SVS page order,
 * OME-TIFF SubIFDs, an ImageDescription, levels whose content differs) by test/helpers/tiff.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fromFile } from 'geotiff';
import sharp, { type TiffOptions } from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  levelFor,
  PIXEL_SIZE_RANGE,
  pixelSizeFromDescription,
  type PyramidInfo,
  pyramidThumbnailPng,
  readPyramid,
  readRegion,
  validatePyramid,
} from '../../src/pipeline/decode/pyramid.ts';
import { assembleRegion, planTiles, TILE_SIDE, TILE_STRIDE, tissueFraction, tissueMask, type WorkingTile } from '../../src/pipeline/decode/tiling.ts';
import type { GreyImage, Region } from '../../src/pipeline/types.ts';
import { resolvePixelSize } from '../../src/services/wsi.service.ts';
import { rng } from '../helpers/synthetic-images.ts';
import { patchTag, readIfds, writeTiff } from '../helpers/tiff.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-pyramid-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Smooth RGB content that differs in every place (so a region cut from the wrong place or level does not match). */
function smoothRgb(width: number, height: number): Buffer {
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      out[i] = Math.round(128 + 90 * Math.sin(x / 53) * Math.cos(y / 71) + 30 * Math.sin((x + y) / 400));
      out[i + 1] = Math.round((x * 255) / (width - 1));
      out[i + 2] = Math.round(127 + 120 * Math.sin(y / 97 + x / 800));
    }
  }
  return out;
}

/** Random (non-smooth) bytes: exact comparisons then show any off-by-one in the region. */
function noiseBytes(n: number, seed: number): Buffer {
  const r = rng(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

const PYRAMID = { tile: true, pyramid: true, tileWidth: 256, tileHeight: 256 } as const;

async function sharpPyramid(name: string, raw: Buffer, width: number, height: number, channels: 1 | 3, tiff: TiffOptions): Promise<string> {
  const file = path.join(dir, name);
  await sharp(raw, { raw: { width, height, channels } }).tiff({ ...PYRAMID, ...tiff }).toFile(file);
  return file;
}

const toBytes = (img: { data: Float32Array }) => Uint8Array.from(img.data, (v) => Math.round(v * 255));

describe('readPyramid', () => {
  const W = 2000, H = 1500;
  let lzw: string;
  beforeAll(async () => {
    lzw = await sharpPyramid('lzw.tif', smoothRgb(W, H), W, H, 3, { compression: 'lzw', xres: 2000, yres: 2000, resolutionUnit: 'cm' });
  });

  test('levels: every page of the pyramid, largest first, with its size, downsample and tiles', async () => {
    const info = await readPyramid(lzw);
    expect(info).toMatchObject({ width: W, height: H, channels: 3, bitDepth: 8, compression: 'lzw', tiled: true });
    // what libvips itself says the pages are
    const pages = (await sharp(lzw).metadata()).pages!;
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(info.levels).toHaveLength(pages);
    for (const [k, level] of info.levels.entries()) {
      const m = await sharp(lzw, { page: k }).metadata();
      expect(level).toMatchObject({ page: k, subifd: null, width: m.width, height: m.height, tileWidth: 256, tileHeight: 256 });
      expect(level.downsample).toBeCloseTo(W / m.width!, 9);
      // each level halves the one before
      expect(level.downsample).toBeGreaterThan(2 ** k * 0.99);
      expect(level.downsample).toBeLessThan(2 ** k * 1.01);
    }
  });

  test('16-bit grey and JPEG: channels, depth and compression by name', async () => {
    const w = 600, h = 400;
    const grey16 = new Uint16Array(w * h).map((_, i) => (i * 37) % 65536);
    const f16 = path.join(dir, 'grey16.tif');
    await sharp(Buffer.from(grey16.buffer), { raw: { width: w, height: h, channels: 1 } })
      .toColourspace('grey16')
      .tiff({ ...PYRAMID, compression: 'lzw' })
      .toFile(f16);
    expect(await readPyramid(f16)).toMatchObject({ channels: 1, bitDepth: 16, compression: 'lzw' });
    const jpeg = await sharpPyramid('jpeg.tif', smoothRgb(w, h), w, h, 3, { compression: 'jpeg' });
    expect(await readPyramid(jpeg)).toMatchObject({ channels: 3, bitDepth: 8, compression: 'jpeg' });
  });

  test('pixel size from XResolution/ResolutionUnit: sharp xres 2000 px/mm is 0.5 um, whatever unit it is written in', async () => {
    expect(await readPyramid(lzw)).toMatchObject({ micronsPerPixel: 0.5, pixelSizeSource: 'tiff-resolution' });
    const inch = await sharpPyramid('inch.tif', smoothRgb(512, 384), 512, 384, 3, { compression: 'lzw', xres: 2000, yres: 2000, resolutionUnit: 'inch' });
    const info = await readPyramid(inch);
    expect(info.pixelSizeSource).toBe('tiff-resolution');
    expect(info.micronsPerPixel).toBeCloseTo(0.5, 9);
  });

  test("no pixel size when none was written: sharp's default resolution is not a microscope's and is dropped", async () => {
    const file = await sharpPyramid('nores.tif', smoothRgb(512, 384), 512, 384, 3, { compression: 'lzw' });
    expect(await readPyramid(file)).toMatchObject({ micronsPerPixel: null, pixelSizeSource: null });
    // what sharp writes by default: some resolution is there, and it says >= 1 px/mm (1000 um), far outside the range
    const tiff = await fromFile(file);
    const fd = (await tiff.getImage(0)).fileDirectory;
    const xres = (await fd.loadValue('XResolution')) as unknown as ArrayLike<number>;
    const unit = (await fd.loadValue('ResolutionUnit')) as number;
    const perUnit = xres[0] / xres[1];
    const um = (unit === 3 ? 1e4 : 25400) / perUnit;
    expect(um).toBeGreaterThan(PIXEL_SIZE_RANGE.max);
    await tiff.close?.();
  });

  const grey = (w: number, h: number, v: (x: number, y: number) => number) => {
    const data = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = v(x, y);
    return data;
  };

  test.each([
    { name: '72 dpi (a screen default)', resolution: { num: 72, den: 1, unit: 2 as const }, um: null },
    { name: '300 dpi (a print default)', resolution: { num: 300, den: 1, unit: 2 as const }, um: null },
    { name: 'no unit (ResolutionUnit 1)', resolution: { num: 20000, den: 1, unit: 1 as unknown as 2 }, um: null },
    { name: '40000 px/cm', resolution: { num: 40000, den: 1, unit: 3 as const }, um: 0.25 },
    { name: '101600 dpi', resolution: { num: 101600, den: 1, unit: 2 as const }, um: 0.25 },
  ])('resolution tags: $name -> $um', async ({ resolution, um }) => {
    const file = path.join(dir, `res-${resolution.num}-${resolution.unit}.tif`);
    await writeFile(file, writeTiff([{ width: 64, height: 48, channels: 1, data: grey(64, 48, (x, y) => x + y), tile: 16, resolution }]));
    const info = await readPyramid(file);
    if (um === null) expect(info.micronsPerPixel).toBeNull();
    else expect(info.micronsPerPixel).toBeCloseTo(um, 9);
  });

  test('an Aperio description wins over the resolution tags', async () => {
    const file = path.join(dir, 'aperio.tif');
    const description = 'Aperio Image Library v12.0.15 \r\n2000x1500 [0,0 2000x1500] (256x256) JPEG/RGB Q=70|AppMag = 20|MPP = 0.4990|Filename = x';
    await writeFile(file, writeTiff([{ width: 64, height: 48, channels: 1, data: grey(64, 48, (x) => x), tile: 16, description, resolution: { num: 20000, den: 1, unit: 3 } }]));
    expect(await readPyramid(file)).toMatchObject({ micronsPerPixel: 0.499, pixelSizeSource: 'svs' });
  });

  /**
   * An Aperio SVS's page order: full resolution (tiled), a striped thumbnail, the reduced levels (tiled), then label
   * and macro (other aspect ratios). Here 1024 x 768: thumbnail 128 x 96, levels at 4x and 16x, label 100 x 120.
   */
  function svsLike(): Buffer {
    const full = { width: 1024, height: 768, channels: 1 as const, tile: 64, data: grey(1024, 768, (x, y) => (x + 2 * y) % 256) };
    const thumb = { width: 128, height: 96, channels: 1 as const, data: grey(128, 96, () => 10) };
    const l4 = { width: 256, height: 192, channels: 1 as const, tile: 64, subfileType: 1, data: grey(256, 192, () => 40) };
    const l16 = { width: 64, height: 48, channels: 1 as const, tile: 16, subfileType: 1, data: grey(64, 48, () => 160) };
    const label = { width: 100, height: 120, channels: 1 as const, subfileType: 1, data: grey(100, 120, () => 250) };
    return writeTiff([full, thumb, l4, l16, label]);
  }

  test('an SVS-like file: the label (another aspect ratio) is no level', async () => {
    const file = path.join(dir, 'svs.tif');
    await writeFile(file, svsLike());
    const info = await readPyramid(file);
    expect(info.levels[0]).toMatchObject({ page: 0, width: 1024, height: 768, downsample: 1, tileWidth: 64 });
    expect(info.levels.map((l) => l.width)).not.toContain(100);
  });

  test('an SVS-like file: the tiled reduced levels after the thumbnail are levels (a region at 1/4 reads the 4x level)', async () => {
    const file = path.join(dir, 'svs2.tif');
    await writeFile(file, svsLike());
    const info = await readPyramid(file);
    expect(info.levels.map((l) => l.width)).toEqual(expect.arrayContaining([1024, 256, 64]));
    expect(levelFor(info, 0.25).downsample).toBe(4);
  });

  test('an OME-TIFF pyramid in SubIFDs: levels from the SubIFDs, pixel size from OME-XML, regions read from them', async () => {
    const file = path.join(dir, 'ome.tif');
    const ome =
      '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0">' +
      '<Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint8" SizeX="512" SizeY="384" SizeC="1" SizeZ="1" SizeT="1" ' +
      'PhysicalSizeX="250" PhysicalSizeXUnit="nm" PhysicalSizeY="250" PhysicalSizeYUnit="nm"><TiffData/></Pixels></Image></OME>';
    await writeFile(
      file,
      writeTiff([
        {
          width: 512, height: 384, channels: 1, tile: 64, description: ome, data: grey(512, 384, (x, y) => (x ^ y) & 255),
          subIfds: [
            { width: 256, height: 192, channels: 1, tile: 64, subfileType: 1, data: grey(256, 192, (x) => 50 + (x % 7)) },
            { width: 128, height: 96, channels: 1, tile: 32, subfileType: 1, data: grey(128, 96, () => 200) },
          ],
        },
      ]),
    );
    const info = await readPyramid(file);
    expect(info).toMatchObject({ width: 512, height: 384, channels: 1, micronsPerPixel: 0.25, pixelSizeSource: 'ome', compression: 'none' });
    expect(info.levels.map((l) => [l.page, l.subifd, l.width, l.height, l.downsample])).toEqual([
      [0, null, 512, 384, 1],
      [0, 0, 256, 192, 2],
      [0, 1, 128, 96, 4],
    ]);
    // a region at 1/2 is the first SubIFD's pixels, not a resize of the full level
    const half = await readRegion(file, info, { x: 100, y: 60, width: 200, height: 100 }, { scale: 0.5 });
    expect(half).toMatchObject({ width: 100, height: 50, channels: 1 });
    const expected = grey(100, 50, (x) => 50 + ((x + 50) % 7));
    expect(toBytes(half)).toEqual(expected);
  });

  test('a PNG is UNSUPPORTED_IMAGE: not a TIFF', async () => {
    const file = path.join(dir, 'bad.png.tif');
    await writeFile(file, await sharp(smoothRgb(64, 48), { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer());
    await expect(readPyramid(file)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: expect.stringMatching(/not a TIFF/) });
  });

  test('garbage after a TIFF header is UNSUPPORTED_IMAGE', async () => {
    const file = path.join(dir, 'garbage.tif');
    await writeFile(file, 'II*\0 this is not really a tiff file at all');
    await expect(readPyramid(file)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
  });

  test('a page the file does not have is UNSUPPORTED_IMAGE naming the page count', async () => {
    const n = (await readPyramid(lzw)).levels.length;
    await expect(readPyramid(lzw, n)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: expect.stringContaining(`${n} page(s)`) });
  });

  test('a full-resolution level of a compression libvips cannot decode is refused up front, naming it', async () => {
    const file = path.join(dir, 'badcomp.tif');
    await writeFile(file, patchTag(await readFile(lzw), 0, 259, 34892));
    await expect(readPyramid(file)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: expect.stringContaining('tiff-compression-34892') });
    await expect(validatePyramid(lzw, await readPyramid(lzw))).resolves.toBeUndefined();
  });

  // libtiff reads a tile of a scheme it cannot decode as black with a warning; readPyramid refuses such schemes by
  // code, and validatePyramid decodes strictly, so a decodable scheme with broken data (WebP tags on LZW tiles) fails too.
  test.each([34892, 12345])('compression %i: readPyramid refuses it, naming it', async (code) => {
    const file = path.join(dir, `badcomp-${code}.tif`);
    await writeFile(file, patchTag(await readFile(lzw), 0, 259, code));
    await expect(readPyramid(file)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: expect.stringContaining(`${code}`) });
  });

  test('compression 50001 (WebP) over LZW data: validatePyramid refuses it, naming it', async () => {
    const file = path.join(dir, 'badcomp-50001.tif');
    await writeFile(file, patchTag(await readFile(lzw), 0, 259, 50001));
    const info = await readPyramid(file);
    expect(info.compression).toBe('webp');
    await expect(validatePyramid(file, info)).rejects.toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: expect.stringContaining('webp') });
  });
});

describe('pixelSizeFromDescription', () => {
  const ome = (pixels: string, root = 'OME', prefix = '') =>
    `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns${prefix ? `:${prefix}` : ''}="http://www.openmicroscopy.org/Schemas/OME/2016-06">` +
    `<${prefix ? `${prefix}:` : ''}Image ID="Image:0"><${prefix ? `${prefix}:` : ''}Pixels ID="Pixels:0" SizeX="10" SizeY="10" ${pixels}/></${prefix ? `${prefix}:` : ''}Image></${root}>`;

  test.each([
    { name: 'OME um (default unit)', text: ome('PhysicalSizeX="0.325" PhysicalSizeY="0.325"'), um: 0.325 },
    { name: 'OME µm (micro sign)', text: ome('PhysicalSizeX="0.5" PhysicalSizeXUnit="µm"'), um: 0.5 },
    { name: 'OME μm (Greek mu)', text: ome('PhysicalSizeX="0.5" PhysicalSizeXUnit="μm"'), um: 0.5 },
    { name: 'OME nm', text: ome('PhysicalSizeX="221" PhysicalSizeXUnit="nm"'), um: 0.221 },
    { name: 'OME mm', text: ome('PhysicalSizeX="0.0005" PhysicalSizeXUnit="mm"'), um: 0.5 },
    { name: 'OME unit before size', text: ome('PhysicalSizeXUnit="nm" PhysicalSizeX="500"'), um: 0.5 },
    { name: 'OME exponent', text: ome('PhysicalSizeX="2.5E-1"'), um: 0.25 },
    { name: 'OME implausible (1 m)', text: ome('PhysicalSizeX="1" PhysicalSizeXUnit="m"'), um: null },
    { name: 'OME unknown unit', text: ome('PhysicalSizeX="1" PhysicalSizeXUnit="furlong"'), um: null },
    { name: 'OME without PhysicalSizeX', text: ome('PhysicalSizeY="0.5"'), um: null },
    { name: 'Aperio', text: 'Aperio Image Library v11.2.1 \r\n46000x32914 [0,100 46000x32914] (256x256) JPEG/RGB Q=30|AppMag = 20|StripeWidth = 2040|ScanScope ID = CPAPERIOCS|MPP = 0.4990|Left = 25.691574', um: 0.499 },
    { name: 'Aperio at the end, no spaces', text: 'Aperio Image Library v10.0.51\r\n1000x800 -> 250x200 - |AppMag = 40|MPP=0.2527', um: 0.2527 },
    { name: 'Aperio GT450', text: 'Aperio Leica Biosystems GT450 v1.0.1 \r\n95615x81187 [0,0,95615x81187] (256x256) JPEG/YCC Q=91|AppMag = 40|MPP = 0.263175|Date = 2021', um: 0.263175 },
    { name: 'Aperio without MPP (label)', text: 'Aperio Image Library v11.2.1 \r\nlabel 387x463', um: null },
    { name: 'Aperio implausible', text: 'Aperio Image Library v11.2.1 \r\n10x10|MPP = 1000', um: null },
    { name: 'other text', text: 'ImageJ=1.54f\nunit=micron\nspacing=0.5', um: null },
    { name: 'empty', text: '', um: null },
    { name: 'undefined', text: undefined, um: null },
  ])('$name -> $um', ({ text, um }) => {
    const r = pixelSizeFromDescription(text);
    if (um === null) expect(r).toBeNull();
    else {
      expect(r?.source).toBe(text!.startsWith('Aperio') ? 'svs' : 'ome');
      expect(r!.um).toBeCloseTo(um, 9);
    }
  });

  test('namespaced OME-XML: <ome:Pixels> inside <OME>', () => {
    const text = '<OME xmlns:ome="http://www.openmicroscopy.org/Schemas/OME/2016-06"><ome:Image><ome:Pixels PhysicalSizeX="0.5"/></ome:Image></OME>';
    expect(pixelSizeFromDescription(text)).toEqual({ um: 0.5, source: 'ome' });
  });

  test('fully namespaced OME-XML: <ome:OME> root', () => {
    expect(pixelSizeFromDescription(ome('PhysicalSizeX="0.5"', 'ome:OME', 'ome'))).toEqual({ um: 0.5, source: 'ome' });
  });
});

describe('resolvePixelSize', () => {
  const own = (um: number | null) => ({ micronsPerPixel: um, pixelSizeSource: um === null ? null : ('tiff-resolution' as const) });
  test("the file's own size wins over a declared one within 5 %, a declared one fills in for none", () => {
    expect(resolvePixelSize(own(0.5), null)).toBe(0.5);
    expect(resolvePixelSize(own(0.5), 0.51)).toBe(0.5);
    expect(resolvePixelSize(own(0.5), 0.476)).toBe(0.5);
    expect(resolvePixelSize(own(null), 0.25)).toBe(0.25);
  });
  test.each([
    [own(0.5), 1.0],
    [own(0.5), 0.53],
    [own(0.25), 0.5],
    [own(null), null],
  ])('%o with %s declared is BAD_USER_INPUT', (p, declared) => {
    let error: unknown;
    try {
      resolvePixelSize(p, declared);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});

describe('readRegion and levelFor', () => {
  const W = 1800, H = 1300;
  let smooth: string;
  let noisy: string;
  let noisyRaw: Buffer;
  beforeAll(async () => {
    smooth = await sharpPyramid('smooth.tif', smoothRgb(W, H), W, H, 3, { compression: 'lzw' });
    noisyRaw = noiseBytes(W * H * 3, 7);
    noisy = await sharpPyramid('noisy.tif', noisyRaw, W, H, 3, { compression: 'lzw' });
  });

  test('levelFor: the coarsest level that still has the scale asked for', async () => {
    const info = await readPyramid(smooth);
    expect(levelFor(info, 1).downsample).toBe(1);
    expect(levelFor(info, 0.6).downsample).toBe(1);
    expect(levelFor(info, 0.5).downsample).toBeCloseTo(2, 2);
    expect(levelFor(info, 0.3).downsample).toBeCloseTo(2, 2);
    expect(levelFor(info, 0.25).downsample).toBeCloseTo(4, 2);
    expect(levelFor(info, 1e-4)).toBe(info.levels[info.levels.length - 1]);
  });

  test.each([
    { x: 0, y: 0, width: 256, height: 256 },
    { x: 300, y: 517, width: 700, height: 401 },
    { x: 1, y: 1, width: 1, height: 1 },
    { x: 255, y: 255, width: 2, height: 2 },
  ])('scale 1: exactly the pixels sharp cuts from the full level (%o)', async (r) => {
    const info = await readPyramid(noisy);
    const img = await readRegion(noisy, info, r);
    expect(img).toMatchObject({ width: r.width, height: r.height, channels: 3 });
    const expected = new Uint8Array(r.width * r.height * 3);
    for (let y = 0; y < r.height; y++) expected.set(noisyRaw.subarray(((r.y + y) * W + r.x) * 3, ((r.y + y) * W + r.x + r.width) * 3), y * r.width * 3);
    const got = toBytes(img);
    let wrong = 0;
    for (let i = 0; i < expected.length; i++) if (got[i] !== expected[i]) wrong++;
    expect(wrong).toBe(0);
  });

  test('a region reaching past the slide is clipped to it; one outside it is a RangeError', async () => {
    const info = await readPyramid(noisy);
    const img = await readRegion(noisy, info, { x: W - 100, y: H - 50, width: 300, height: 300 });
    expect(img).toMatchObject({ width: 100, height: 50 });
    expect(toBytes(img).subarray(0, 3)).toEqual(Uint8Array.from(noisyRaw.subarray(((H - 50) * W + W - 100) * 3, ((H - 50) * W + W - 100) * 3 + 3)));
    await expect(readRegion(noisy, info, { x: W + 10, y: 0, width: 10, height: 10 })).rejects.toThrow(RangeError);
  });

  test('scale 1/4 reads the 4x level and is close to a Lanczos resize of the full-resolution region', async () => {
    const info = await readPyramid(smooth);
    const r = { x: 400, y: 320, width: 800, height: 640 };
    const img = await readRegion(smooth, info, r, { scale: 0.25 });
    expect(img).toMatchObject({ width: 200, height: 160, channels: 3 });
    const { data } = await sharp(smooth, { page: 0 })
      .extract({ left: r.x, top: r.y, width: r.width, height: r.height })
      .resize(200, 160, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    let sum = 0, worst = 0;
    for (let i = 0; i < data.length; i++) {
      const d = Math.abs(img.data[i] - data[i] / 255);
      sum += d;
      worst = Math.max(worst, d);
    }
    expect(sum / data.length).toBeLessThan(0.01);
    expect(worst).toBeLessThan(0.08);
  });

  test('a reduced level is read, not the full one: levels of different content tell which', async () => {
    // page 0 and its 2x level hold different values, so a region shows where it was read from
    const file = path.join(dir, 'levels.tif');
    const g = (w: number, h: number, v: number) => new Uint8Array(w * h).fill(v);
    await writeFile(
      file,
      writeTiff([
        { width: 512, height: 384, channels: 1, tile: 64, data: g(512, 384, 30) },
        { width: 256, height: 192, channels: 1, tile: 64, subfileType: 1, data: g(256, 192, 120) },
        { width: 128, height: 96, channels: 1, tile: 32, subfileType: 1, data: g(128, 96, 220) },
      ]),
    );
    const info = await readPyramid(file);
    const at = async (scale: number) => toBytes(await readRegion(file, info, { x: 64, y: 64, width: 256, height: 128 }, { scale }))[0];
    expect(await at(1)).toBe(30);
    expect(await at(0.75)).toBe(30);
    expect(await at(0.5)).toBe(120);
    expect(await at(0.3)).toBe(120);
    expect(await at(0.25)).toBe(220);
  });

  test('channels: 1 gives grey; size overrides the size the scale gives', async () => {
    const info = await readPyramid(smooth);
    const g = await readRegion(smooth, info, { x: 10, y: 10, width: 400, height: 300 }, { channels: 1, scale: 0.5 });
    expect(g).toMatchObject({ width: 200, height: 150, channels: 1 });
    const s = await readRegion(smooth, info, { x: 10, y: 10, width: 400, height: 300 }, { size: { width: 101, height: 77 } });
    expect(s).toMatchObject({ width: 101, height: 77, channels: 3 });
  });

  test('pyramidThumbnailPng: the longer side is the size asked for', async () => {
    const info = await readPyramid(smooth);
    const m = await sharp(await pyramidThumbnailPng(smooth, info, 300)).metadata();
    expect(m).toMatchObject({ format: 'png', width: 300, height: Math.round((300 * H) / W) });
  });
});

describe('planTiles', () => {
  const margin = (TILE_SIDE - TILE_STRIDE) / 2;

  test.each([
    { width: 4096, height: 3072, scale: 0.25 },
    { width: 8192, height: 6144, scale: 0.25 },
    { width: 3001, height: 2001, scale: 0.25 },
    { width: 5000, height: 700, scale: 1 },
    { width: 100, height: 80, scale: 1 },
    { width: 40000, height: 30000, scale: 0.125 },
    { width: 9999, height: 7777, scale: 0.3 },
  ])('$width x $height at $scale: owned squares partition the working grid; boxes hold them with the margin', ({ width, height, scale }) => {
    const W = Math.floor(width * scale), H = Math.floor(height * scale);
    const plan = planTiles(width, height, scale);
    expect(plan.length).toBe(Math.ceil(W / TILE_STRIDE) * Math.ceil(H / TILE_STRIDE));
    const owners = new Uint8Array(W * H);
    for (const t of plan) {
      const { box, owned, source } = t;
      expect(owned.width).toBeGreaterThan(0);
      expect(owned.height).toBeGreaterThan(0);
      for (let y = owned.y; y < owned.y + owned.height; y++) for (let x = owned.x; x < owned.x + owned.width; x++) owners[y * W + x]++;
      // box inside the slide, at most TILE_SIDE, containing the owned square with the margin where not clipped
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(W);
      expect(box.y + box.height).toBeLessThanOrEqual(H);
      expect(box.width).toBeLessThanOrEqual(TILE_SIDE);
      expect(box.height).toBeLessThanOrEqual(TILE_SIDE);
      expect(owned.x - box.x).toBe(box.x === 0 ? owned.x : margin);
      expect(owned.y - box.y).toBe(box.y === 0 ? owned.y : margin);
      const right = box.x + box.width - (owned.x + owned.width), bottom = box.y + box.height - (owned.y + owned.height);
      if (box.x + box.width < W) expect(right).toBeGreaterThanOrEqual(margin);
      if (box.y + box.height < H) expect(bottom).toBeGreaterThanOrEqual(margin);
      // the source is the box in full-resolution pixels, inside the slide
      expect(Math.abs(source.x - box.x / scale)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(source.y - box.y / scale)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(source.width - box.width / scale)).toBeLessThanOrEqual(1 / scale + 1);
      expect(Math.abs(source.height - box.height / scale)).toBeLessThanOrEqual(1 / scale + 1);
      expect(source.x + source.width).toBeLessThanOrEqual(width);
      expect(source.y + source.height).toBeLessThanOrEqual(height);
    }
    // every working pixel owned exactly once
    let wrong = 0;
    for (const n of owners) if (n !== 1) wrong++;
    expect(wrong).toBe(0);
    // sources are distinct (a resumed job finds its tiles by them)
    expect(new Set(plan.map((t) => `${t.source.x},${t.source.y}`)).size).toBe(plan.length);
  });

  test('deterministic (a resumed job plans the same tiles)', () => {
    expect(planTiles(8192, 6144, 0.25)).toEqual(planTiles(8192, 6144, 0.25));
  });

  test('8192 x 6144 at 0.5 um/px and 2 um working: 3 x 2 tiles', () => {
    expect(planTiles(8192, 6144, 0.25)).toHaveLength(6);
  });
});

describe('assembleRegion', () => {
  /** A random working image and its tiles, each tile's "CoMIR" the image over its box plus 1000 x its index. */
  function tiled(W: number, H: number, seed: number) {
    const r = rng(seed);
    const image: GreyImage = { width: W, height: H, data: Float32Array.from({ length: W * H }, () => r()) };
    const plan = planTiles(W, H, 1);
    const cut = (box: Region, add: number): GreyImage => {
      const data = new Float32Array(box.width * box.height);
      for (let y = 0; y < box.height; y++) for (let x = 0; x < box.width; x++) data[y * box.width + x] = image.data[(box.y + y) * W + box.x + x] + add;
      return { width: box.width, height: box.height, data };
    };
    return { image, plan, cut };
  }

  test('tiles cut out of an image give the image back, exactly, each pixel from the tile that owns it', () => {
    const W = 2000, H = 1700;
    const { image, plan, cut } = tiled(W, H, 3);
    const tiles: WorkingTile[] = plan.map((t, k) => ({ box: t.box, owned: t.owned, comir: cut(t.box, 1000 * k) }));
    const all = assembleRegion({ x: 0, y: 0, width: W, height: H }, tiles);
    let wrong = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const owner = plan.findIndex((t) => x >= t.owned.x && x < t.owned.x + t.owned.width && y >= t.owned.y && y < t.owned.y + t.owned.height);
        if (all.data[y * W + x] !== Math.fround(image.data[y * W + x] + 1000 * owner)) wrong++;
      }
    }
    expect(wrong).toBe(0);
    // a region straddling tiles, at an offset
    const r = { x: 700, y: 650, width: 900, height: 333 };
    const part = assembleRegion(r, plan.map((t) => ({ box: t.box, owned: t.owned, comir: cut(t.box, 0) })));
    expect(part).toMatchObject({ width: r.width, height: r.height });
    for (let y = 0; y < r.height; y += 7) for (let x = 0; x < r.width; x += 5) expect(part.data[y * r.width + x]).toBe(image.data[(r.y + y) * W + r.x + x]);
  });

  test('NaN exactly where no tile was stored', () => {
    const W = 2000, H = 1700;
    const { image, plan, cut } = tiled(W, H, 4);
    const missing = new Set([1, 4]);
    const tiles = plan.flatMap((t, k) => (missing.has(k) ? [] : [{ box: t.box, owned: t.owned, comir: cut(t.box, 0) }]));
    const all = assembleRegion({ x: 0, y: 0, width: W, height: H }, tiles);
    let wrong = 0, nan = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const owner = plan.findIndex((t) => x >= t.owned.x && x < t.owned.x + t.owned.width && y >= t.owned.y && y < t.owned.y + t.owned.height);
        const v = all.data[y * W + x];
        if (missing.has(owner)) {
          nan++;
          if (!Number.isNaN(v)) wrong++;
        } else if (v !== image.data[y * W + x]) wrong++;
      }
    }
    expect(nan).toBe([...missing].reduce((s, k) => s + plan[k].owned.width * plan[k].owned.height, 0));
    expect(wrong).toBe(0);
    // no tiles at all: all NaN
    expect(assembleRegion({ x: 5, y: 5, width: 10, height: 10 }, []).data.every(Number.isNaN)).toBe(true);
  });
});

describe('tissueMask and tissueFraction', () => {
  /** A W x H grey image: background `bg` with uniform noise of +-noise, and a disk of value `fg` (radius r at cx, cy). */
  function slide(W: number, H: number, bg: number, fg: number, disk: { cx: number; cy: number; r: number }, spread = 0.1, noise = 3 / 255): { img: GreyImage; truth: Uint8Array } {
    const r = rng(11);
    const data = new Float32Array(W * H), truth = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inside = Math.hypot(x - disk.cx, y - disk.cy) < disk.r;
        truth[y * W + x] = inside ? 1 : 0;
        data[y * W + x] = (inside ? fg + spread * (r() - 0.5) : bg) + noise * (2 * r() - 1);
      }
    }
    return { img: { width: W, height: H, data }, truth };
  }

  test.each([
    { name: 'brightfield: bright glass, dark tissue', bg: 0.92, fg: 0.45, spread: 0.1 },
    { name: 'fluorescence/SHG: dark background, bright tissue', bg: 0.04, fg: 0.6, spread: 0.1 },
    { name: 'faint tissue (16 grey levels below the glass)', bg: 0.9, fg: 0.9 - 16 / 255, spread: 0.01 },
  ])('$name', ({ bg, fg, spread }) => {
    const W = 300, H = 200;
    const { img, truth } = slide(W, H, bg, fg, { cx: 100, cy: 90, r: 50 }, spread);
    const mask = tissueMask(img);
    let fp = 0, fn = 0, tissue = 0;
    for (let i = 0; i < mask.length; i++) {
      tissue += truth[i];
      if (mask[i] && !truth[i]) fp++;
      if (!mask[i] && truth[i]) fn++;
    }
    expect(fp).toBe(0);
    expect(fn / tissue).toBeLessThan(0.05);
    // fractions of regions, given in working pixels with the mask at 1/4 of them
    expect(tissueFraction(mask, W, H, 0.25, { x: 4 * 80, y: 4 * 70, width: 160, height: 160 })).toBeGreaterThan(0.95);
    expect(tissueFraction(mask, W, H, 0.25, { x: 4 * 200, y: 4 * 20, width: 300, height: 600 })).toBe(0);
    const half = tissueFraction(mask, W, H, 0.25, { x: 4 * 100, y: 4 * 40, width: 4 * 100, height: 4 * 100 });
    expect(half).toBeGreaterThan(0.3);
    expect(half).toBeLessThan(0.5);
  });

  test('glass only: no tissue', () => {
    const { img } = slide(200, 150, 0.9, 0.9, { cx: -100, cy: -100, r: 1 });
    expect(tissueMask(img).every((v) => v === 0)).toBe(true);
  });

  test('tissueFraction: a region outside the mask is 0, not NaN', () => {
    const mask = new Uint8Array(100).fill(1);
    expect(tissueFraction(mask, 10, 10, 1, { x: 20, y: 20, width: 5, height: 5 })).toBe(0);
    expect(tissueFraction(mask, 10, 10, 1, { x: 5, y: 5, width: 10, height: 10 })).toBe(1);
  });
});

/** The IFD helper reads what sharp writes (guards the byte patching of the medium tests). */
test('readIfds: one IFD per pyramid page, with the Compression tag', async () => {
  const file = await sharpPyramid('ifds.tif', smoothRgb(600, 400), 600, 400, 3, { compression: 'lzw' });
  const buf = await readFile(file);
  const { ifds } = readIfds(buf);
  expect(ifds.length).toBe((await readPyramid(file)).levels.length);
  for (const ifd of ifds) expect(ifd.entries.some((e) => e.tag === 259)).toBe(true);
  const info: PyramidInfo = await readPyramid(file);
  expect(info.levels.length).toBeGreaterThan(1);
});
