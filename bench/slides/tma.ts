/**
 * Synthetic whole-slide images with ground truth, for the whole-slide benchmark: the 31 real shg-bf cores placed on
 * tissue-free glass as a tissue microarray (TMA), written as pyramidal tiled JPEG TIFFs at 0.5 um/px, and rigidly
 * transformed queries of the other modality whose pixels are mapped to full-resolution slide pixels.
 *
 * Geometry (all affines are 2x3 row-major, ../../src/pipeline/rerank/geometry.ts; pixel centres at integer
 * coordinates): a core is upsampled CORE_SCALE (4) times and rotated by `angle` degrees about its centre in one
 * bicubic affine (sharp/libvips), so core pixel p lands at slide pixel
 *   toSlide(p) = C + 4 R(angle) (p - (255.5, 255.5)),   R = [cos -sin; sin cos] (rigidAbout's convention: y down,
 * so positive angles turn clockwise on screen, the same direction as sharp's rotate()).
 * The core's 512 x 512 square is pasted through an alpha mask of that square, so the rotation's corners show the
 * glass, not black. Everything is seeded (mulberry32): every run writes the same slides.
 *
 * Big slides are rendered in horizontal strips (only the cores of a strip are held), the strips written as
 * uncompressed VIPS files and joined lazily by libvips into the pyramidal TIFF, so the whole image is never in memory.
 *
 * Library only (no top-level side effects); the CLI is ./make.ts.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../src/pipeline/decode/decode.ts';
import { type Affine, applyAffine, composeAffine, invertAffine, type Point } from '../../src/pipeline/rerank/geometry.ts';
import { warpAffine } from '../../src/pipeline/rerank/warp.ts';
import type { PlanarImage } from '../../src/pipeline/types.ts';
import { makeQueries, mulberry32 } from '../lib/queries.ts';

/** Folder holding shg-bf/ (CMIR_DATA_DIR; default ../shared/data next to the repository). */
export const DEFAULT_DATA_DIR = process.env.CMIR_DATA_DIR ?? path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
/** Git-ignored output folder. */
export const SLIDE_CACHE_DIR = path.join(import.meta.dirname, '..', '.cache', 'slides');

/** Full-resolution pixel size of every synthetic slide (a 20x scanner). */
export const SLIDE_MICRONS_PER_PIXEL = 0.5;
/** Each 512 px core covers 2048 slide pixels, so a core pixel (and a query pixel) is 2 um. */
export const CORE_SCALE = 4;
export const CORE_SIDE = 512;
/** Micrometres per pixel of the 512 px cores and of the queries made from them. */
export const CORE_MICRONS_PER_PIXEL = SLIDE_MICRONS_PER_PIXEL * CORE_SCALE;
/** Rotation of cores on the slide: uniform in +-MAX_CORE_DEGREES. */
export const MAX_CORE_DEGREES = 30;

/** The TIFF every slide is written as (xres/yres in pixels per mm, sharp's unit: 2000/mm = 20000/cm = 50800 dpi). */
export const SLIDE_TIFF = {
  tile: true,
  pyramid: true,
  tileWidth: 256,
  tileHeight: 256,
  compression: 'jpeg',
  quality: 90,
  xres: 1000 / SLIDE_MICRONS_PER_PIXEL,
  yres: 1000 / SLIDE_MICRONS_PER_PIXEL,
  resolutionUnit: 'cm',
} as const;

/** Bump when the rendering changes, so cached slides are regenerated. */
const GENERATOR_VERSION = 2;
/** Edge replication around a core before the bicubic warp (the kernel's reach in core pixels, and some). */
const PAD = 4;
const PADDED = CORE_SIDE + 2 * PAD;
/** Circumradius of a placed core in slide pixels (its rotated square never reaches beyond it). */
const CORE_RADIUS = (CORE_SIDE * CORE_SCALE * Math.SQRT2) / 2;

export type Modality = 'bf' | 'shg';

export interface CoreRow {
  id: string;
  group: string;
  split: string;
  /** Absolute paths of the 512 x 512 8-bit grey images (registered to each other within ~2 px). */
  shg: string;
  bf: string;
}

/** One core on a slide. */
export interface CorePlacement {
  id: string;
  /** Rotation in degrees (rigidAbout's sign: positive = clockwise on screen, as sharp's rotate()). */
  angle: number;
  /** Core pixel (of its 512 x 512 image) -> full-resolution slide pixel. */
  toSlide: Affine;
}

export interface SlideTruth {
  /** File name, relative to the truth file's folder. */
  file: string;
  width: number;
  height: number;
  micronsPerPixel: number;
  cores: CorePlacement[];
}

export interface TmaParams {
  version: number;
  seed: number;
  modality: Modality;
  coreIds: string[];
  slides: number;
  cols: number;
  rows: number;
  cell: number;
  margin: number;
  jitter: number;
  micronsPerPixel: number;
  scale: number;
  tiff: typeof SLIDE_TIFF;
}

export interface TmaTruth {
  params: TmaParams;
  slides: SlideTruth[];
}

export interface LargeSlideTruth extends SlideTruth {
  params: Omit<TmaParams, 'slides'> & { width: number; height: number };
}

/** The rows of shg-bf/pairs.csv, paths made absolute. */
export async function readCores(dataDir = DEFAULT_DATA_DIR): Promise<CoreRow[]> {
  const dir = path.join(dataDir, 'shg-bf');
  const [head, ...lines] = (await readFile(path.join(dir, 'pairs.csv'), 'utf8')).trim().split(/\r?\n/);
  const cols = head.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const r = Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
    return { id: r.id, group: r.group, split: r.split, shg: path.join(dir, r.shg), bf: path.join(dir, r.bf) };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Geometry of one placed core

/** The 2x2 part: scale by CORE_SCALE, rotate by `angle` degrees. */
function coreMatrix(angle: number): [number, number, number, number] {
  const t = (angle * Math.PI) / 180, k = CORE_SCALE;
  return [k * Math.cos(t), -k * Math.sin(t), k * Math.sin(t), k * Math.cos(t)];
}

/**
 * Where libvips puts the warped padded core: sharp's affine(M) maps input pixel x to M x - O, O the rounded top-left
 * of the transformed input rectangle [0, PADDED]^2 (measured for libvips 8.18, checked again on every core by the
 * alpha mask's centroid in renderCore).
 */
function warpOrigin(m: readonly number[]): Point {
  const xs = [0, PADDED * m[0], PADDED * m[1], PADDED * (m[0] + m[1])];
  const ys = [0, PADDED * m[2], PADDED * m[3], PADDED * (m[2] + m[3])];
  return [Math.round(Math.min(...xs)), Math.round(Math.min(...ys))];
}

interface Placed extends CorePlacement {
  /** Integer position of the warped buffer's top-left pixel on the slide. */
  left: number;
  top: number;
  /** Size of the warped buffer (the transformed square's bounding box). */
  width: number;
  height: number;
  /** Slide position of the core's centre. */
  centre: Point;
}

/** Places a core so that its centre lands within half a pixel of `centre`; the exact map goes to the truth. */
function placeCore(id: string, angle: number, centre: Point): Placed {
  const m = coreMatrix(angle);
  const [ox, oy] = warpOrigin(m);
  const c = (CORE_SIDE - 1) / 2 + PAD;
  // warped-buffer coordinates of the core centre
  const bx = m[0] * c + m[1] * c - ox, by = m[2] * c + m[3] * c - oy;
  const left = Math.round(centre[0] - bx), top = Math.round(centre[1] - by);
  const toSlide: Affine = [m[0], m[1], m[0] * PAD + m[1] * PAD - ox + left, m[2], m[3], m[2] * PAD + m[3] * PAD - oy + top];
  const xs = [0, PADDED * m[0], PADDED * m[1], PADDED * (m[0] + m[1])];
  const ys = [0, PADDED * m[2], PADDED * m[3], PADDED * (m[2] + m[3])];
  const width = Math.round(Math.max(...xs) - Math.min(...xs)), height = Math.round(Math.max(...ys) - Math.min(...ys));
  return { id, angle, toSlide, left, top, width, height, centre: applyAffine(toSlide, [(CORE_SIDE - 1) / 2, (CORE_SIDE - 1) / 2]) };
}

/** A core upsampled and rotated (bicubic), as grey + alpha (alpha = the core's square), in slide pixels. */
async function renderCore(file: string, p: Placed): Promise<{ grey: Uint8Array; alpha: Uint8Array }> {
  const { data: padded } = await sharp(file)
    .extend({ top: PAD, bottom: PAD, left: PAD, right: PAD, extendWith: 'copy' })
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (padded.length !== PADDED * PADDED) throw new Error(`${file}: expected a ${CORE_SIDE}x${CORE_SIDE} grey image`);
  const ga = Buffer.alloc(PADDED * PADDED * 2);
  for (let y = 0; y < PADDED; y++) {
    for (let x = 0; x < PADDED; x++) {
      const i = y * PADDED + x;
      ga[2 * i] = padded[i];
      ga[2 * i + 1] = x >= PAD && x < PAD + CORE_SIDE && y >= PAD && y < PAD + CORE_SIDE ? 255 : 0;
    }
  }
  const { data, info } = await sharp(ga, { raw: { width: PADDED, height: PADDED, channels: 2 } })
    .affine(coreMatrix(p.angle), { interpolator: sharp.interpolators.bicubic, background: { r: 0, g: 0, b: 0, alpha: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== p.width || info.height !== p.height) {
    throw new Error(`libvips placed the warped core differently than assumed (${info.width}x${info.height}, expected ${p.width}x${p.height})`);
  }
  const n = info.width * info.height, C = info.channels;
  const grey = new Uint8Array(n), alpha = new Uint8Array(n);
  let s = 0, sx = 0, sy = 0;
  for (let i = 0; i < n; i++) {
    grey[i] = data[i * C];
    const a = (alpha[i] = data[i * C + C - 1]);
    s += a;
    sx += a * (i % info.width);
    sy += a * Math.floor(i / info.width);
  }
  // The mask is a symmetric square: its centroid is where the core's centre went. Must match the truth.
  const [cx, cy] = p.centre;
  const dx = sx / s + p.left - cx, dy = sy / s + p.top - cy;
  if (Math.hypot(dx, dy) > 0.05) throw new Error(`core ${p.id}: warped square off its truth by (${dx.toFixed(3)}, ${dy.toFixed(3)}) px`);
  return { grey, alpha };
}

// ---------------------------------------------------------------------------------------------------------------
// Glass: background level, noise, artefacts

interface Background {
  /** Mean grey level, the amplitude of a slow shading along x and along y, and the noise's sigma. */
  level: number;
  shading: number;
  sigma: number;
}

const BACKGROUNDS: Record<Modality, Background> = {
  // brightfield glass: ~226-238 with sigma-3 noise
  bf: { level: 232, shading: 3, sigma: 3 },
  // SHG: dark, noise clipped at 0
  shg: { level: 3, shading: 1, sigma: 2 },
};

/** A dark mark on the glass: a speck (disc) or a stroke (polyline: dust fibre, pen line, air-bubble edge). */
type Artefact =
  | { kind: 'speck'; x: number; y: number; r: number; depth: number }
  | { kind: 'stroke'; points: Point[]; width: number; depth: number };

function artefactBounds(a: Artefact): [number, number, number, number] {
  if (a.kind === 'speck') return [a.x - a.r - 2, a.y - a.r - 2, a.x + a.r + 2, a.y + a.r + 2];
  const xs = a.points.map((p) => p[0]), ys = a.points.map((p) => p[1]), h = a.width / 2 + 2;
  return [Math.min(...xs) - h, Math.min(...ys) - h, Math.max(...xs) + h, Math.max(...ys) + h];
}

/** Draws `a` into the darkness map of rows [y0, y0 + rows) (max of overlapping marks, soft 1 px edges). */
function drawArtefact(a: Artefact, dark: Uint8Array, width: number, y0: number, rows: number): void {
  const put = (x: number, y: number, v: number) => {
    if (x < 0 || x >= width || y < y0 || y >= y0 + rows || v <= 0) return;
    const i = (y - y0) * width + x;
    if (v > dark[i]) dark[i] = Math.min(255, Math.round(v));
  };
  if (a.kind === 'speck') {
    for (let y = Math.floor(a.y - a.r - 1); y <= Math.ceil(a.y + a.r + 1); y++) {
      for (let x = Math.floor(a.x - a.r - 1); x <= Math.ceil(a.x + a.r + 1); x++) {
        const cov = Math.min(1, Math.max(0, a.r + 0.5 - Math.hypot(x - a.x, y - a.y)));
        put(x, y, a.depth * cov);
      }
    }
    return;
  }
  const h = a.width / 2;
  for (let k = 0; k + 1 < a.points.length; k++) {
    const [ax, ay] = a.points[k], [bx, by] = a.points[k + 1];
    const vx = bx - ax, vy = by - ay, len2 = vx * vx + vy * vy || 1;
    const ys = Math.max(y0, Math.floor(Math.min(ay, by) - h - 1)), ye = Math.min(y0 + rows - 1, Math.ceil(Math.max(ay, by) + h + 1));
    for (let y = ys; y <= ye; y++) {
      for (let x = Math.floor(Math.min(ax, bx) - h - 1); x <= Math.ceil(Math.max(ax, bx) + h + 1); x++) {
        const t = Math.min(1, Math.max(0, ((x - ax) * vx + (y - ay) * vy) / len2));
        const d = Math.hypot(x - ax - t * vx, y - ay - t * vy);
        put(x, y, a.depth * Math.min(1, Math.max(0, h + 0.5 - d)));
      }
    }
  }
}

/**
 * Seeded glass artefacts kept at least `clearance` px away from every core's circumcircle: dust specks, short dust
 * fibres, a faint pen line in the top or bottom margin, and air-bubble edges.
 */
function planArtefacts(width: number, height: number, margin: number, cores: Placed[], random: () => number): Artefact[] {
  const clearance = 120;
  const clear = (pts: Point[], r: number) =>
    pts.every(([x, y]) => x - r > 20 && y - r > 20 && x + r < width - 20 && y + r < height - 20) &&
    cores.every((c) => pts.every(([x, y]) => Math.hypot(x - c.centre[0], y - c.centre[1]) > CORE_RADIUS + clearance + r));
  const out: Artefact[] = [];
  const area = (width * height) / 1e6;
  const tries = (n: number, make: () => Artefact | undefined) => {
    for (let made = 0, t = 0; made < n && t < n * 200; t++) {
      const a = make();
      if (a) {
        out.push(a);
        made++;
      }
    }
  };
  // dust specks: a disc or a small cluster of 2-3 discs
  tries(Math.round(area / 4), () => {
    const x = random() * width, y = random() * height, r = 1.5 + random() ** 2 * 6;
    if (!clear([[x, y]], r + 12)) return undefined;
    const depth = 60 + random() * 90;
    const n = 1 + Math.floor(random() * 3);
    for (let k = 1; k < n; k++) out.push({ kind: 'speck', x: x + (random() - 0.5) * 2.5 * r, y: y + (random() - 0.5) * 2.5 * r, r: r * (0.4 + 0.5 * random()), depth });
    return { kind: 'speck', x, y, r, depth };
  });
  // dust fibres: thin curved strokes of 40-160 px
  tries(Math.max(1, Math.round(area / 40)), () => {
    const len = 40 + random() * 120, a0 = random() * 2 * Math.PI, bend = (random() - 0.5) * 0.06;
    let [x, y] = [random() * width, random() * height];
    const pts: Point[] = [[x, y]];
    for (let s = 0, a = a0; s < len; s += 8, a += bend * 8) pts.push([(x += 8 * Math.cos(a)), (y += 8 * Math.sin(a))]);
    return clear(pts, 4) ? { kind: 'stroke', points: pts, width: 1.2 + random() * 1.3, depth: 50 + random() * 60 } : undefined;
  });
  // a faint pen line in the top or bottom margin (wavy, ~1/3 of the width)
  tries(Math.max(1, Math.round(area / 600)), () => {
    const y0 = (0.3 + 0.4 * random()) * margin;
    const yb = random() < 0.5 ? y0 : height - y0;
    const x0 = random() * width * 0.6, len = width * (0.2 + 0.2 * random());
    const amp = 10 + random() * 30, lambda = 800 + random() * 1500, phase = random() * 2 * Math.PI, slope = (random() - 0.5) * 0.02;
    const pts: Point[] = [];
    for (let s = 0; s <= len; s += 24) pts.push([x0 + s, yb + amp * Math.sin((2 * Math.PI * s) / lambda + phase) + slope * s]);
    return clear(pts, 10) ? { kind: 'stroke', points: pts, width: 8 + random() * 6, depth: 25 + random() * 15 } : undefined;
  });
  // air-bubble edges: thin dark rings of radius 120-400 px
  tries(Math.max(1, Math.round(area / 60)), () => {
    const cx = random() * width, cy = random() * height, R = 120 + random() * 280;
    const pts: Point[] = [];
    const n = Math.ceil((2 * Math.PI * R) / 12);
    for (let k = 0; k <= n; k++) pts.push([cx + R * Math.cos((2 * Math.PI * k) / n), cy + R * Math.sin((2 * Math.PI * k) / n)]);
    return clear(pts, 6) ? { kind: 'stroke', points: pts, width: 2 + random() * 2, depth: 30 + random() * 25 } : undefined;
  });
  return out;
}

/** Gaussian noise tile (Box-Muller on mulberry32); prime-ish sides so its repeats never align with the 256 px tiles. */
function noiseTile(sigma: number, random: () => number): { data: Float32Array; width: number; height: number } {
  const width = 1031, height = 1021;
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i += 2) {
    const u = Math.max(random(), 1e-12), v = random(), r = sigma * Math.sqrt(-2 * Math.log(u));
    data[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < data.length) data[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return { data, width, height };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

interface SlidePlan {
  width: number;
  height: number;
  modality: Modality;
  cores: Placed[];
  artefacts: Artefact[];
  seed: number;
}

/**
 * Renders a slide strip by strip and writes it as a pyramidal tiled JPEG TIFF (grey replicated to RGB). Only the
 * warped cores that reach the current strip are held; strips go to uncompressed VIPS files that libvips joins lazily.
 */
async function renderSlide(plan: SlidePlan, coreFile: (id: string) => string, out: string, opts: { bigtiff?: boolean; stripHeight?: number } = {}): Promise<void> {
  const { width, height } = plan;
  const bg = BACKGROUNDS[plan.modality];
  const random = mulberry32(plan.seed ^ 0x5bd1e995);
  const noise = noiseTile(bg.sigma, random);
  const lx = width * (1.2 + random()), ly = height * (1.2 + random()), px = random() * 2 * Math.PI, py = random() * 2 * Math.PI;
  const shadeX = Float32Array.from({ length: width }, (_, x) => bg.level + bg.shading * Math.cos((2 * Math.PI * x) / lx + px));
  const shadeY = Float32Array.from({ length: height }, (_, y) => bg.shading * Math.cos((2 * Math.PI * y) / ly + py));
  const stripHeight = opts.stripHeight ?? 2048;
  const tmp = `${out}.strips-${process.pid}`;
  await mkdir(tmp, { recursive: true });
  const byTop = [...plan.cores].sort((a, b) => a.top - b.top);
  const live = new Map<Placed, { grey: Uint8Array; alpha: Uint8Array }>();
  const strips: string[] = [];
  try {
    for (let y0 = 0; y0 < height; y0 += stripHeight) {
      const rows = Math.min(stripHeight, height - y0);
      const strip = new Uint8Array(width * rows);
      // glass
      for (let r = 0; r < rows; r++) {
        const y = y0 + r, sy = shadeY[y], n0 = (y % noise.height) * noise.width, o = r * width;
        for (let x = 0, nx = 0; x < width; x++, nx = nx + 1 === noise.width ? 0 : nx + 1) {
          const v = shadeX[x] + sy + noise.data[n0 + nx];
          strip[o + x] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
        }
      }
      // artefacts (glass only: they are kept away from the cores)
      const mine = plan.artefacts.filter((a) => {
        const [, ay0, , ay1] = artefactBounds(a);
        return ay1 >= y0 && ay0 < y0 + rows;
      });
      if (mine.length > 0) {
        const dark = new Uint8Array(width * rows);
        for (const a of mine) drawArtefact(a, dark, width, y0, rows);
        for (let i = 0; i < dark.length; i++) if (dark[i]) strip[i] = Math.max(0, strip[i] - dark[i]);
      }
      // cores
      for (const p of byTop) {
        if (p.top >= y0 + rows) break;
        if (p.top + p.height <= y0) continue;
        let img = live.get(p);
        if (!img) live.set(p, (img = await renderCore(coreFile(p.id), p)));
        const ys = Math.max(y0, p.top), ye = Math.min(y0 + rows, p.top + p.height, height);
        const xs = Math.max(0, p.left), xe = Math.min(width, p.left + p.width);
        for (let y = ys; y < ye; y++) {
          const o = (y - y0) * width, c = (y - p.top) * p.width - p.left;
          for (let x = xs; x < xe; x++) {
            const a = img.alpha[c + x];
            if (a === 0) continue;
            strip[o + x] = a === 255 ? img.grey[c + x] : Math.round(strip[o + x] + ((img.grey[c + x] - strip[o + x]) * a) / 255);
          }
        }
        if (p.top + p.height <= y0 + rows) live.delete(p);
      }
      const file = path.join(tmp, `${String(strips.length).padStart(4, '0')}.v`);
      await sharp(strip, { raw: { width, height: rows, channels: 1 } }).toFile(file);
      strips.push(file);
    }
    live.clear();
    // arrayjoin makes every cell as tall as the tallest strip (the last one is padded below): cut back to the slide
    const joined = strips.length === 1 ? sharp(strips[0]) : sharp(strips, { join: { across: 1 }, limitInputPixels: false });
    await joined
      .extract({ left: 0, top: 0, width, height })
      .toColourspace('srgb')
      .tiff({ ...SLIDE_TIFF, bigtiff: opts.bigtiff ?? false })
      .toFile(out);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// TMA slides

export interface TmaOptions {
  dataDir?: string;
  /** Default: SLIDE_CACHE_DIR/tma (bf) or SLIDE_CACHE_DIR/tma-shg. */
  outDir?: string;
  seed?: number;
  /** Which images are placed: 'bf' (default; queries are SHG) or 'shg' (the reverse direction). */
  modality?: Modality;
  /** Regenerate even when the cached slides match. */
  force?: boolean;
}

const TMA_DEFAULTS = { seed: 20240531, slides: 6, cols: 3, rows: 2, cell: 3400, margin: 1200, jitter: 200 } as const;

export function tmaDir(modality: Modality, outDir?: string): string {
  return outDir ?? path.join(SLIDE_CACHE_DIR, modality === 'bf' ? 'tma' : 'tma-shg');
}

/** Grid cells with jitter; two neighbours stay apart as long as cell - 2 jitter > the rotated squares' reach. */
function gridCentres(cols: number, rows: number, cell: number, margin: [number, number], jitter: number, random: () => number): Point[] {
  if (cell - 2 * jitter <= CORE_SIDE * CORE_SCALE * (Math.cos(Math.PI / 6) + Math.sin(Math.PI / 6))) throw new RangeError('cores could overlap');
  const out: Point[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out.push([margin[0] + (c + 0.5) * cell + (random() * 2 - 1) * jitter, margin[1] + (r + 0.5) * cell + (random() * 2 - 1) * jitter]);
    }
  }
  return out;
}

function tmaParams(ids: string[], seed: number, modality: Modality): TmaParams {
  const d = TMA_DEFAULTS;
  return { version: GENERATOR_VERSION, seed, modality, coreIds: ids, slides: d.slides, cols: d.cols, rows: d.rows, cell: d.cell, margin: d.margin, jitter: d.jitter, micronsPerPixel: SLIDE_MICRONS_PER_PIXEL, scale: CORE_SCALE, tiff: SLIDE_TIFF };
}

/**
 * The TMA layout, pure (no pixels): the cores shuffled into `slides` slides of a cols x rows grid (6 + 5 x 5 for 31),
 * each core jittered in its cell and rotated uniformly in +-30 degrees. The layout depends on the seed and the core
 * ids only, so the bf slides and the shg slides of one seed put every core at the same place.
 */
function planTma(params: TmaParams): SlidePlan[] {
  const { seed, cols, rows, cell, margin, jitter, slides } = params;
  const random = mulberry32(seed);
  const ids = [...params.coreIds];
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  if (ids.length > slides * cols * rows) throw new RangeError(`${ids.length} cores do not fit ${slides} slides of ${cols}x${rows}`);
  const width = 2 * margin + cols * cell, height = 2 * margin + rows * cell;
  const plans: SlidePlan[] = [];
  for (let s = 0, next = 0; s < slides; s++) {
    const n = Math.floor(ids.length / slides) + (s < ids.length % slides ? 1 : 0);
    const centres = gridCentres(cols, rows, cell, [margin, margin], jitter, random);
    // which cells stay empty
    const cells = centres.map((_, i) => i);
    for (let i = cells.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [cells[i], cells[j]] = [cells[j], cells[i]];
    }
    const used = cells.slice(0, n).sort((a, b) => a - b);
    const cores = used.map((cellIndex) => placeCore(ids[next++], (random() * 2 - 1) * MAX_CORE_DEGREES, centres[cellIndex]));
    const slideSeed = (seed + 0x9e3779b9 * (s + 1)) >>> 0;
    const artefacts = params.modality === 'bf' ? planArtefacts(width, height, margin, cores, mulberry32(slideSeed)) : [];
    plans.push({ width, height, modality: params.modality, cores, artefacts, seed: slideSeed });
  }
  return plans;
}

function truthOf(plan: SlidePlan, file: string): SlideTruth {
  return {
    file,
    width: plan.width,
    height: plan.height,
    micronsPerPixel: SLIDE_MICRONS_PER_PIXEL,
    cores: plan.cores.map((c) => ({ id: c.id, angle: c.angle, toSlide: c.toSlide })),
  };
}

/** The TMA truth for a seed and modality, computed (no files read but pairs.csv). */
export async function tmaTruth(opts: TmaOptions = {}): Promise<TmaTruth> {
  const cores = await readCores(opts.dataDir);
  const params = tmaParams(cores.map((c) => c.id), opts.seed ?? TMA_DEFAULTS.seed, opts.modality ?? 'bf');
  return { params, slides: planTma(params).map((p, i) => truthOf(p, `slide-${i + 1}.tif`)) };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile() && s.size > 0,
    () => false,
  );
}

/**
 * Writes the TMA slides and truth.json (skipped when they exist with the same parameters). Returns the truth, the
 * folder and the seconds spent (0 when cached).
 */
export async function ensureTmaSlides(opts: TmaOptions = {}): Promise<{ dir: string; truth: TmaTruth; generated: boolean; seconds: number }> {
  const modality = opts.modality ?? 'bf';
  const dir = tmaDir(modality, opts.outDir);
  const cores = await readCores(opts.dataDir);
  const params = tmaParams(cores.map((c) => c.id), opts.seed ?? TMA_DEFAULTS.seed, modality);
  const plans = planTma(params);
  const truth: TmaTruth = { params, slides: plans.map((p, i) => truthOf(p, `slide-${i + 1}.tif`)) };
  const truthFile = path.join(dir, 'truth.json');
  if (!opts.force) {
    const old = await readFile(truthFile, 'utf8').then((t) => JSON.parse(t) as TmaTruth, () => undefined);
    if (old && JSON.stringify(old.params) === JSON.stringify(params) && (await Promise.all(truth.slides.map((s) => exists(path.join(dir, s.file))))).every(Boolean)) {
      return { dir, truth: old, generated: false, seconds: 0 };
    }
  }
  const t0 = performance.now();
  await mkdir(dir, { recursive: true });
  await rm(truthFile, { force: true });
  const files = new Map(cores.map((c) => [c.id, c[modality]]));
  for (let i = 0; i < plans.length; i++) await renderSlide(plans[i], (id) => files.get(id)!, path.join(dir, truth.slides[i].file));
  await writeFile(truthFile, JSON.stringify(truth, null, 1) + '\n');
  return { dir, truth, generated: true, seconds: (performance.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------------------------
// Queries

export interface TmaQuery {
  /** The core (pairs.csv id). */
  id: string;
  kind: 'whole' | 'crop';
  /** Modality of the query image ('shg' against bf slides, 'bf' against shg slides). */
  modality: Modality;
  /** [0,1], 1 channel; 512 px (whole) or 154 px (crop). */
  image: PlanarImage;
  /** Absolute path of the slide that holds the core, and its index in the truth. */
  slide: string;
  slideIndex: number;
  /** Query pixel -> pixel of the 512 x 512 core. */
  toCore: Affine;
  /** Query pixel -> full-resolution slide pixel. */
  toSlide: Affine;
  /** The query's corners in full-resolution slide pixels. */
  footprint: Point[];
  /** The query's centre pixel in slide pixels. */
  centre: Point;
  /** Rotation from query to slide, degrees (positive = clockwise on screen). */
  degrees: number;
  /** Declared pixel size of the query: 2 um (a query pixel spans 4 slide pixels of 0.5 um). */
  micronsPerPixel: number;
}

/** FNV-style mix of seed and id (one transform per core, independent of order). */
function coreSeed(seed: number, id: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Rigidly transformed queries (bench/lib/queries.ts makeQueries: rotation +-30 degrees, shift +-12 %, whole and
 * 30 % centre crop) of the 13 test cores, with their ground truth on the slides: SHG queries against the bf slides
 * (default), or bf queries against the shg slides (`slides: 'shg'`). The truth is computed from the layout, so the
 * slides need not exist; pass `truth` to use a loaded one.
 */
export async function tmaQueries(opts: { dataDir?: string; outDir?: string; seed?: number; slideSeed?: number; slides?: Modality; truth?: TmaTruth } = {}): Promise<TmaQuery[]> {
  const slides = opts.slides ?? 'bf';
  const queryModality: Modality = slides === 'bf' ? 'shg' : 'bf';
  const truth = opts.truth ?? (await tmaTruth({ dataDir: opts.dataDir, seed: opts.slideSeed, modality: slides }));
  const dir = tmaDir(slides, opts.outDir);
  const where = new Map<string, { index: number; core: CorePlacement }>();
  truth.slides.forEach((s, index) => s.cores.forEach((core) => where.set(core.id, { index, core })));
  const out: TmaQuery[] = [];
  for (const row of (await readCores(opts.dataDir)).filter((r) => r.split === 'test')) {
    const at = where.get(row.id);
    if (!at) throw new Error(`core ${row.id} is on no slide`);
    const { image } = await decodeImage(await readFile(row[queryModality]), { maxPixels: 1 << 24 });
    const q = makeQueries(image, mulberry32(coreSeed(opts.seed ?? 7, row.id)));
    for (const query of [q.whole, q.crop]) {
      const toSlide = composeAffine(at.core.toSlide, query.toRepository);
      const { width: w, height: h } = query.image;
      out.push({
        id: row.id,
        kind: query.kind,
        modality: queryModality,
        image: query.image,
        slide: path.join(dir, truth.slides[at.index].file),
        slideIndex: at.index,
        toCore: query.toRepository,
        toSlide,
        footprint: query.footprint.map((p) => applyAffine(at.core.toSlide, p)),
        centre: applyAffine(toSlide, [(w - 1) / 2, (h - 1) / 2]),
        degrees: (Math.atan2(toSlide[3], toSlide[0]) * 180) / Math.PI,
        micronsPerPixel: Math.round(SLIDE_MICRONS_PER_PIXEL * Math.hypot(toSlide[0], toSlide[3]) * 1e9) / 1e9,
      });
    }
  }
  return out;
}

/**
 * The slide seen through a query's frame: the full-resolution region under the footprint, read with sharp, reduced
 * `factor` times (area average) and sampled bilinearly at every query pixel; grey [0,1], 0 outside the slide.
 */
export async function sampleSlide(file: string, toSlide: Affine, width: number, height: number, factor = CORE_SCALE): Promise<PlanarImage> {
  const meta = await sharp(file, { limitInputPixels: false }).metadata();
  const corners = ([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]] as Point[]).map((p) => applyAffine(toSlide, p));
  const pad = 4 * factor;
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((p) => p[0])) / factor) * factor - pad);
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((p) => p[1])) / factor) * factor - pad);
  const x1 = Math.min(meta.width!, Math.ceil(Math.max(...corners.map((p) => p[0])) / factor) * factor + pad);
  const y1 = Math.min(meta.height!, Math.ceil(Math.max(...corners.map((p) => p[1])) / factor) * factor + pad);
  const w = Math.floor((x1 - x0) / factor) * factor, h = Math.floor((y1 - y0) / factor) * factor;
  const { data, info } = await sharp(file, { limitInputPixels: false })
    .extract({ left: x0, top: y0, width: w, height: h })
    .resize(w / factor, h / factor, { kernel: 'linear' })
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const small: PlanarImage = { width: info.width, height: info.height, channels: 1, data: Float32Array.from(data, (v) => v / 255) };
  // slide pixel s -> reduced pixel (s - x0 + 0.5) / factor - 0.5 (pixel centres)
  const toSmall: Affine = [1 / factor, 0, (0.5 - x0) / factor - 0.5, 0, 1 / factor, (0.5 - y0) / factor - 0.5];
  return warpAffine(small, invertAffine(composeAffine(toSmall, toSlide)), width, height);
}

// ---------------------------------------------------------------------------------------------------------------
// One large slide

export interface LargeSlideOptions {
  width?: number;
  height?: number;
  dataDir?: string;
  /** Default SLIDE_CACHE_DIR/large-<w>x<h>.tif; the truth goes beside it as .json. */
  out?: string;
  seed?: number;
  modality?: Modality;
  force?: boolean;
  /** Rows rendered at a time (default 2048). */
  stripHeight?: number;
}

const LARGE_DEFAULTS = { seed: 4242, cell: 3000, margin: 1200, jitter: 50 } as const;

/**
 * A whole slide of at least a gigapixel at 0.5 um/px (default 40000 x 30000): the 31 cores reused in a seeded order
 * on a jittered grid, each with its own rotation, glass and artefacts as the TMA slides; BigTIFF. Skipped when the
 * file and its truth (same parameters) exist.
 */
export async function makeLargeSlide(opts: LargeSlideOptions = {}): Promise<{ file: string; truth: LargeSlideTruth; generated: boolean; seconds: number }> {
  const width = opts.width ?? 40000, height = opts.height ?? 30000, modality = opts.modality ?? 'bf';
  const file = opts.out ?? path.join(SLIDE_CACHE_DIR, `large-${width}x${height}${modality === 'bf' ? '' : '-shg'}.tif`);
  const truthFile = file.replace(/\.tiff?$/, '') + '.json';
  const cores = await readCores(opts.dataDir);
  const d = LARGE_DEFAULTS;
  const seed = opts.seed ?? d.seed;
  const cols = Math.floor((width - 2 * d.margin) / d.cell), rows = Math.floor((height - 2 * d.margin) / d.cell);
  const params = { version: GENERATOR_VERSION, seed, modality, coreIds: cores.map((c) => c.id), cols, rows, cell: d.cell, margin: d.margin, jitter: d.jitter, micronsPerPixel: SLIDE_MICRONS_PER_PIXEL, scale: CORE_SCALE, tiff: SLIDE_TIFF, width, height };
  if (!opts.force) {
    const old = await readFile(truthFile, 'utf8').then((t) => JSON.parse(t) as LargeSlideTruth, () => undefined);
    if (old && JSON.stringify(old.params) === JSON.stringify(params) && (await exists(file))) return { file, truth: old, generated: false, seconds: 0 };
  }
  const random = mulberry32(seed);
  const mx = (width - cols * d.cell) / 2, my = (height - rows * d.cell) / 2;
  const centres = gridCentres(cols, rows, d.cell, [mx, my], d.jitter, random);
  let order: string[] = [];
  const placed = centres.map((c) => {
    if (order.length === 0) {
      order = cores.map((r) => r.id);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    return placeCore(order.pop()!, (random() * 2 - 1) * MAX_CORE_DEGREES, c);
  });
  const artefacts = modality === 'bf' ? planArtefacts(width, height, Math.min(mx, my), placed, mulberry32(seed ^ 0x2545f491)) : [];
  const plan: SlidePlan = { width, height, modality, cores: placed, artefacts, seed };
  const t0 = performance.now();
  await mkdir(path.dirname(file), { recursive: true });
  await rm(truthFile, { force: true });
  const files = new Map(cores.map((c) => [c.id, c[modality]]));
  await renderSlide(plan, (id) => files.get(id)!, file, { bigtiff: true, stripHeight: opts.stripHeight });
  const truth: LargeSlideTruth = { ...truthOf(plan, path.basename(file)), params };
  await writeFile(truthFile, JSON.stringify(truth, null, 1) + '\n');
  return { file, truth, generated: true, seconds: (performance.now() - t0) / 1000 };
}
