/**
 * CoMIR inference (stage I of Breznik et al. 2024): a model directory holds one ONNX network per modality and a
 * manifest.json written by training/train_comir.py. Pure: no Prisma, no Apollo.
 *
 * Input: a PlanarImage (HWC, Float32) already normalised by the modality's rule (decode.ts `normalize`), which must
 * equal the manifest's `input.normalization` ('log1p' for SHG: log(1+x), range [0, ln 2], not rescaled; 'percentile'
 * stretches the image's own 1st..99th percentiles to [0, 1]; 'linear'
 * otherwise). Output: a GreyImage with the network's sigmoid output in [0, 1] (sigmoid(z - logit_shift), inside the
 * graph);
 * `toUint8` gives the 8-bit CoMIR (round(255 y), as MultiRegEval's inference_comir.py, reference-pipeline.md section 2).
 *
 * Whole-image inference reflect-pads by the manifest's margin (>= the one-sided receptive field, plus stride - 1 for
 * the pooling phase) and to a multiple of the stride, runs once and crops back (MultiRegEval inference_comir.py pads
 * 128 px with reflection, reference-pipeline.md section 2). Images above `maxWholePixels` run in tiles: tile cores are
 * multiples of the stride, each tile window carries the margin on every side, so the pooling grid and every output
 * pixel's receptive field are identical to the whole-image pass: tiled equals whole up to float rounding (the shipped
 * networks have no normalisation layer, so they are purely local: training/comir/model.py).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError, UnsupportedImageError } from '../../errors.ts';
import { MAX_REFINE, POSE_BOUNDS } from '../rerank/correlate.ts';
import { matchChannels, normalize, NORMALIZATIONS, type Normalization } from '../decode/decode.ts';
import type { ConfidenceModel } from '../rerank/confidence.ts';
import type { GreyImage, PlanarImage } from '../types.ts';

export const MANIFEST_FORMAT = 'cmir-comir/1';

/** A model directory or its manifest is unusable, or a request does not fit the model. `code` = 'MODEL_INVALID'. */
export class ModelInvalidError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('MODEL_INVALID', message, details);
  }
}

export interface ManifestModality {
  /** Modality name (e.g. 'shg', 'bf', 'rgb', 'nir'). */
  name: string;
  /** ONNX file, relative to the model directory. */
  file: string;
  sha256: string;
  parameters?: number;
  input: {
    name: string;
    layout: 'NCHW';
    channels: number;
    /** The decode.ts rule the caller applies before the graph. */
    normalization: Normalization;
    /**
     * 'required': the network was trained on colour (RGB) images of a modality that also comes as grey (shg-bf's BF
     * from colour H&E, training/README.md), so a grey image is refused (UNSUPPORTED_IMAGE) instead of being replicated
     * to 3 channels (matchChannels). Normalization 'eosin' needs colour whatever this says.
     */
    colour?: 'required';
    /** The pairs.csv column the network was trained from, when not the modality's name (shg-bf's colour BF: bf_rgb). */
    column?: string;
    range?: [number, number];
    source?: string;
  };
  output: { name: string; channels: 1 };
  /**
   * The modalities this network serves when the model is registered without a mapping (default: the name in upper
   * case). mri-ct's `other` network serves CT, PET and SPECT (its training column mixes the three).
   */
  serves?: string[];
}

export const WINDOW_DESCRIPTOR_FORMAT = 'cmir-window/1';

export interface WindowDescriptorManifest {
  format: typeof WINDOW_DESCRIPTOR_FORMAT;
  /** ONNX file, relative to the model directory. */
  file: string;
  sha256: string;
  /** Names the vectors (part of their space, services/embedding.service.ts): a new descriptor means a reindex. */
  version: string;
  input: { name: string; grid: number };
  output: { name: string; dimensions: number };
}

export interface ComirManifest {
  format: typeof MANIFEST_FORMAT;
  pair: string;
  created?: string;
  modalities: ManifestModality[];
  /** The graph computes sigmoid(z - logit_shift) (logit_shift: common tissue-level calibration, training/README.md). */
  output: { channels: 1; activation: 'sigmoid'; activation_in_graph: true; range: [0, 1]; logit_shift?: number; background?: string };
  network: {
    type: string;
    norm?: string;
    /** Spatial inputs must be a multiple of this (2^poolings). */
    stride: number;
    required_multiple?: number;
    receptive_field?: number;
    /** Reflect padding on every side (a multiple of stride). */
    margin: number;
    opset?: number;
    parameters?: number;
  };
  /**
   * How acquisitions of the pair's two modalities usually relate, as search defaults (a request overrides them):
   * the largest relative scale difference and rotation between a query and its image (docs/adr/0005). Absent: 0 and
   * 30 degrees.
   */
  /**
   * The pixel size the networks were trained at (micrometres per pixel): whole-slide tiles are cut at it, and a query
   * that declares its pixel size is resampled to it (issue 18). Absent: images are compared at their own pixels.
   */
  working_resolution?: { microns_per_pixel: number; source?: string };
  search?: {
    scale_tolerance?: number;
    max_rotation?: number;
    structure_weight?: number;
    refine?: number;
    /** The calibration of match confidence (pipeline/rerank/confidence.ts; bench/calibrate-confidence.ts). */
    confidence?: ConfidenceModel;
    source?: string;
  };
  /**
   * The learned window descriptor of the first stage (training/train_window_descriptor.py, docs/adr/0015): an ONNX
   * network from a window's 32 x 32 standardised box means to a unit vector. Absent: the hand-made 8 x 8 box vector.
   */
  window_descriptor?: WindowDescriptorManifest;
  training?: Record<string, unknown>;
  validation?: Record<string, unknown> & { acc1?: number };
  report_test?: Record<string, unknown>;
}

export interface ComirOptions {
  /** onnxruntime intra-op threads per session (default 1; the server decides how many cores CoMIR gets). */
  intraOpNumThreads?: number;
  /** Images with more pixels than this run in tiles (default 1024 * 1024). */
  maxWholePixels?: number;
  /** Tile core size in pixels, rounded down to a multiple of the stride (default 512). */
  tileSize?: number;
  /** Skip the sha256 check of the ONNX files (default false). */
  skipChecksum?: boolean;
}

const DEFAULTS = { intraOpNumThreads: 1, maxWholePixels: 1024 * 1024, tileSize: 512 };

function fail(dir: string, message: string, details: Record<string, unknown> = {}): never {
  throw new ModelInvalidError(`model ${dir}: ${message}`, { dir, ...details });
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function posInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0;
}

/** Structural validation of a parsed manifest (no file access). Throws ModelInvalidError. */
export function validateManifest(json: unknown, dir = '.'): ComirManifest {
  if (!isObj(json)) fail(dir, 'manifest.json is not an object');
  if (json.format !== MANIFEST_FORMAT) fail(dir, `manifest format ${JSON.stringify(json.format)}, expected ${MANIFEST_FORMAT}`);
  const net = json.network;
  if (!isObj(net) || !posInt(net.stride) || typeof net.margin !== 'number' || !Number.isInteger(net.margin) || net.margin < 0) {
    fail(dir, 'network.stride and network.margin must be integers');
  }
  if ((net.margin as number) % (net.stride as number) !== 0) fail(dir, 'network.margin must be a multiple of network.stride');
  const out = json.output;
  if (!isObj(out) || out.activation !== 'sigmoid' || out.activation_in_graph !== true) {
    fail(dir, 'output must be a sigmoid inside the graph');
  }
  const mods = json.modalities;
  if (!Array.isArray(mods) || mods.length !== 2) fail(dir, 'modalities must list exactly two networks');
  const names = new Set<string>();
  for (const m of mods) {
    if (!isObj(m) || typeof m.name !== 'string' || !m.name || typeof m.file !== 'string' || typeof m.sha256 !== 'string') {
      fail(dir, 'each modality needs name, file and sha256');
    }
    if (names.has(m.name)) fail(dir, `modality ${m.name} listed twice`);
    names.add(m.name);
    if (!/^[0-9a-f]{64}$/.test(m.sha256)) fail(dir, `modality ${m.name}: sha256 is not 64 hex digits`);
    if (path.isAbsolute(m.file) || m.file.split(/[\\/]/).includes('..')) fail(dir, `modality ${m.name}: file must stay inside the model dir`);
    const inp = m.input;
    if (!isObj(inp) || typeof inp.name !== 'string' || inp.layout !== 'NCHW' || !posInt(inp.channels)) {
      fail(dir, `modality ${m.name}: input needs name, layout NCHW and channels`);
    }
    if (inp.channels !== 1 && inp.channels !== 3) fail(dir, `modality ${m.name}: input channels must be 1 or 3`, { channels: inp.channels });
    if (!NORMALIZATIONS.includes(inp.normalization as Normalization)) {
      fail(dir, `modality ${m.name}: input.normalization must be one of ${NORMALIZATIONS.join(', ')}`);
    }
    // eosin turns an RGB image into one channel (decode/stain.ts)
    if (inp.normalization === 'eosin' && inp.channels !== 1) fail(dir, `modality ${m.name}: input.normalization eosin gives 1 channel, the input declares ${inp.channels as number}`);
    if (inp.colour !== undefined && inp.colour !== 'required') fail(dir, `modality ${m.name}: input.colour must be "required" or absent`);
    if (inp.column !== undefined && (typeof inp.column !== 'string' || !inp.column)) fail(dir, `modality ${m.name}: input.column must be a non-empty string`);
    const o = m.output;
    if (!isObj(o) || typeof o.name !== 'string' || o.channels !== 1) fail(dir, `modality ${m.name}: output needs name and channels 1`);
    if (m.serves !== undefined && (!Array.isArray(m.serves) || m.serves.length === 0 || m.serves.some((x) => typeof x !== 'string' || !x))) {
      fail(dir, `modality ${m.name}: serves must be a non-empty list of modality names`);
    }
  }
  const wd = json.window_descriptor;
  if (wd !== undefined) {
    if (
      !isObj(wd) || wd.format !== WINDOW_DESCRIPTOR_FORMAT || typeof wd.file !== 'string' || typeof wd.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(wd.sha256) || typeof wd.version !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(wd.version) ||
      !isObj(wd.input) || typeof wd.input.name !== 'string' || !posInt(wd.input.grid) || wd.input.grid > 64 ||
      !isObj(wd.output) || typeof wd.output.name !== 'string' || !posInt(wd.output.dimensions)
    ) {
      fail(dir, `window_descriptor needs format ${WINDOW_DESCRIPTOR_FORMAT}, file, sha256, version, input { name, grid <= 64 } and output { name, dimensions }`);
    }
    if (path.isAbsolute(wd.file) || wd.file.split(/[\\/]/).includes('..')) fail(dir, 'window_descriptor: file must stay inside the model dir');
  }
  const search = json.search;
  if (search !== undefined) {
    const inRange = (v: unknown, max: number) => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max);
    if (
      !isObj(search) ||
      !inRange(search.scale_tolerance, POSE_BOUNDS.scaleTolerance) ||
      !inRange(search.max_rotation, POSE_BOUNDS.maxRotation) ||
      !inRange(search.structure_weight, 1) ||
      !(search.refine === undefined || (Number.isInteger(search.refine) && inRange(search.refine, MAX_REFINE))) ||
      !(search.confidence === undefined || validConfidence(search.confidence))
    ) {
      fail(
        dir,
        `search.scale_tolerance must be a number in 0..${POSE_BOUNDS.scaleTolerance}, search.max_rotation in 0..${POSE_BOUNDS.maxRotation}` +
          `, search.structure_weight in 0..1, search.refine an integer in 0..${MAX_REFINE}` +
          ' and search.confidence { midpoint, scale > 0, threshold in 0..1 }',
      );
    }
  }
  return json as unknown as ComirManifest;
}

export async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** Reads and validates `dir/manifest.json` and the sha256 of every ONNX file. Sessions are created lazily. */
export async function loadComirModel(dir: string, options: ComirOptions = {}): Promise<ComirModel> {
  let text: string;
  try {
    text = await readFile(path.join(dir, 'manifest.json'), 'utf8');
  } catch (e) {
    fail(dir, `cannot read manifest.json: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(dir, `manifest.json is not JSON: ${(e as Error).message}`);
  }
  const manifest = validateManifest(json, dir);
  if (!options.skipChecksum) {
    for (const m of manifest.modalities) {
      let actual: string;
      try {
        actual = await sha256File(path.join(dir, m.file));
      } catch (e) {
        fail(dir, `cannot read ${m.file}: ${(e as Error).message}`, { modality: m.name });
      }
      if (actual !== m.sha256) fail(dir, `${m.file}: sha256 ${actual} does not match the manifest's ${m.sha256}`, { modality: m.name, expected: m.sha256, actual });
    }
    const wd = manifest.window_descriptor;
    if (wd) {
      const actual = await sha256File(path.join(dir, wd.file)).catch((e: Error) => fail(dir, `cannot read ${wd.file}: ${e.message}`));
      if (actual !== wd.sha256) fail(dir, `${wd.file}: sha256 ${actual} does not match the manifest's ${wd.sha256}`, { expected: wd.sha256, actual });
    }
  }
  return new ComirModel(dir, manifest, options);
}

/** What a registered modality declares; `checkModality` compares it with the manifest. */
export interface ModalityExpectation {
  channels?: number;
  normalization?: Normalization;
}

interface Window {
  /** Window origin in image coordinates (may be negative: reflected). */
  y0: number;
  x0: number;
  h: number;
  w: number;
}

/** numpy/torch 'reflect' (edge not repeated), periodic for any offset. */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

export class ComirModel {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly opts: Required<Omit<ComirOptions, 'skipChecksum'>>;

  constructor(
    readonly dir: string,
    readonly manifest: ComirManifest,
    options: ComirOptions = {},
  ) {
    const stride = manifest.network.stride;
    const tile = Math.floor((options.tileSize ?? DEFAULTS.tileSize) / stride) * stride;
    if (tile < stride) throw new ModelInvalidError(`tileSize must be at least the stride ${stride}`, { tileSize: options.tileSize });
    this.opts = {
      intraOpNumThreads: options.intraOpNumThreads ?? DEFAULTS.intraOpNumThreads,
      maxWholePixels: options.maxWholePixels ?? DEFAULTS.maxWholePixels,
      tileSize: tile,
    };
  }

  /** The modality names, in manifest order. */
  get modalities(): string[] {
    return this.manifest.modalities.map((m) => m.name);
  }

  get stride(): number {
    return this.manifest.network.stride;
  }

  get margin(): number {
    return this.manifest.network.margin;
  }

  modality(name: string): ManifestModality {
    const m = this.manifest.modalities.find((x) => x.name === name);
    if (!m) throw new ModelInvalidError(`model ${this.dir} has no network for modality ${JSON.stringify(name)} (has ${this.modalities.join(', ')})`, { modality: name });
    return m;
  }

  /** Throws ModelInvalidError when a modality's declared channels/normalisation differ from the manifest's. */
  checkModality(name: string, expect: ModalityExpectation): void {
    const m = this.modality(name);
    if (expect.channels !== undefined && expect.channels !== m.input.channels) {
      throw new ModelInvalidError(`modality ${name}: the model takes ${m.input.channels} channel(s), the modality has ${expect.channels}`, { modality: name, expected: m.input.channels, actual: expect.channels });
    }
    if (expect.normalization !== undefined && expect.normalization !== m.input.normalization) {
      throw new ModelInvalidError(`modality ${name}: the model expects normalization ${m.input.normalization}, the modality uses ${expect.normalization}`, { modality: name, expected: m.input.normalization, actual: expect.normalization });
    }
  }

  /** The session of a modality, created on first use. */
  session(name: string): Promise<ort.InferenceSession> {
    let s = this.sessions.get(name);
    if (!s) {
      const m = this.modality(name);
      s = ort.InferenceSession.create(path.join(this.dir, m.file), {
        intraOpNumThreads: this.opts.intraOpNumThreads,
        interOpNumThreads: 1,
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
      }).catch((e: unknown) => {
        this.sessions.delete(name);
        throw new ModelInvalidError(`model ${this.dir}: onnxruntime cannot load ${m.file}: ${(e as Error).message}`, { modality: name });
      });
      this.sessions.set(name, s);
    }
    return s;
  }

  /**
   * The CoMIR of an image of `modality` as cmir stores and searches it: the pixels normalised as the network was
   * trained (manifest `input.normalization`), their channels matched to its input (matchChannels), run, clamped to
   * [0, 1] and quantised to 16 bits, exactly as stored (so a query's CoMIR and a stored one of the same pixels are
   * identical). Not 8 bits (the reference's round(255 y), reference-pipeline.md section 2): the shipped networks put
   * tissue at 0.014-0.06, i.e. 0-15 grey levels in 8 bits (training/README.md, measured), which erases the texture SURF
   * needs. Ingestion, search, the window descriptor's training data and the offline benchmark all take it from here.
   */
  async representation(modality: string, pixels: PlanarImage): Promise<GreyImage> {
    const m = this.modality(modality);
    if (m.input.colour === 'required' && pixels.channels !== 3) {
      throw new UnsupportedImageError(`the model's ${modality} network was trained on colour (RGB) images, and this image has ${pixels.channels} channel(s): ingest or search with the colour scan, not a grey one`, {
        modality,
        channels: pixels.channels,
        expected: 3,
      });
    }
    const comir = await this.run(modality, matchChannels(normalize(pixels, m.input.normalization as Normalization), m.input.channels));
    const data = new Float32Array(comir.data.length);
    for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(1, Math.max(0, comir.data[i])) * 65535) / 65535;
    return { width: comir.width, height: comir.height, data };
  }

  /** CoMIR of an image of `modality`: whole-image pass when small enough, else seamless tiles. */
  async run(modality: string, image: PlanarImage, options: { tiled?: boolean } = {}): Promise<GreyImage> {
    const m = this.modality(modality);
    const { width: W, height: H, channels: C } = image;
    if (C !== m.input.channels) {
      throw new ModelInvalidError(`modality ${modality}: the model takes ${m.input.channels} channel(s), the image has ${C}`, { modality, expected: m.input.channels, actual: C });
    }
    if (!posInt(W) || !posInt(H) || image.data.length !== W * H * C) {
      throw new ModelInvalidError(`image data length ${image.data.length} does not match ${W}x${H}x${C}`, { modality });
    }
    const session = await this.session(modality);
    const out = new Float32Array(W * H);
    const tiled = options.tiled ?? W * H > this.opts.maxWholePixels;
    const T = tiled ? this.opts.tileSize : Math.max(H, W);
    for (let ty = 0; ty < H; ty += T) {
      for (let tx = 0; tx < W; tx += T) {
        const ch = Math.min(T, H - ty);
        const cw = Math.min(T, W - tx);
        await this.runWindow(session, m, image, ty, tx, ch, cw, out);
      }
    }
    return { width: W, height: H, data: out };
  }

  /** Computes the core [ty, ty+ch) x [tx, tx+cw) of the output from a reflect-padded window around it. */
  private async runWindow(
    session: ort.InferenceSession,
    m: ManifestModality,
    image: PlanarImage,
    ty: number,
    tx: number,
    ch: number,
    cw: number,
    out: Float32Array,
  ): Promise<void> {
    const s = this.stride;
    const M = this.margin;
    const pad = (n: number): number => n + ((s - (n % s)) % s);
    // Window origins are multiples of the stride relative to -M, as in the whole-image pass: same pooling grid.
    const win: Window = { y0: ty - M, x0: tx - M, h: pad(ch + 2 * M), w: pad(cw + 2 * M) };
    const { width: W, height: H, channels: C, data } = image;
    const plane = win.h * win.w;
    const input = new Float32Array(C * plane);
    const cols = new Int32Array(win.w);
    for (let x = 0; x < win.w; x++) cols[x] = reflectIndex(win.x0 + x, W);
    for (let y = 0; y < win.h; y++) {
      const row = reflectIndex(win.y0 + y, H) * W;
      const o = y * win.w;
      for (let x = 0; x < win.w; x++) {
        const src = (row + cols[x]) * C;
        for (let c = 0; c < C; c++) input[c * plane + o + x] = data[src + c];
      }
    }
    const feeds: Record<string, ort.Tensor> = { [m.input.name]: new ort.Tensor('float32', input, [1, C, win.h, win.w]) };
    const result = await session.run(feeds);
    const t = result[m.output.name];
    if (!t || t.dims.length !== 4 || t.dims[2] !== win.h || t.dims[3] !== win.w) {
      throw new ModelInvalidError(`model ${this.dir}: ${m.file} returned ${t ? `dims [${t.dims.join(',')}]` : 'no output ' + m.output.name}, expected [1,1,${win.h},${win.w}]`, { modality: m.name });
    }
    const z = t.data as Float32Array;
    for (let y = 0; y < ch; y++) {
      const srcOff = (y + M) * win.w + M;
      out.set(z.subarray(srcOff, srcOff + cw), (ty + y) * image.width + tx);
    }
    t.dispose();
  }

  /** Releases all sessions (they are re-created on the next run). */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s.catch(() => null))?.release();
  }
}

/** 8-bit CoMIR: round(255 * y), y clamped to [0, 1]. */
export function toUint8(image: GreyImage): Uint8Array {
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = image.data[i];
    out[i] = v >= 1 ? 255 : v > 0 ? Math.round(v * 255) : 0;
  }
  return out;
}

/** A manifest's `search.confidence` (pipeline/rerank/confidence.ts): finite midpoint, positive scale, threshold in 0..1. */
function validConfidence(c: unknown): boolean {
  if (typeof c !== 'object' || c === null) return false;
  const { midpoint, scale, threshold } = c as Record<string, unknown>;
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  return finite(midpoint) && finite(scale) && scale > 0 && finite(threshold) && threshold >= 0 && threshold <= 1;
}
