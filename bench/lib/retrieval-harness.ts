/**
 * Cross-modal retrieval benchmark after the paper's protocol (issue 5; ../shared/data/README.md "Protocol used by the
 * benchmarks"; reference-pipeline.md 1.3-1.6), run through the product's own services: a fresh in-memory database
 * per representation space, the repository ingested with `images.ingest`, the vocabulary built as a Job, and every
 * query answered by `search.search`. `bench/retrieval.ts` is the command line; `test/bench/retrieval-floor.test.ts`
 * runs a small version as a regression floor.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { DuplicateImageError } from '../../src/errors.ts';
import { decodeImage, toGrey } from '../../src/pipeline/decode/decode.ts';
import { accuracyTable } from '../../src/pipeline/evaluate.ts';
import { type Affine, applyAffine, invertAffine, rigidAbout } from '../../src/pipeline/rerank/geometry.ts';
import type { GreyImage, PlanarImage } from '../../src/pipeline/types.ts';
import type { RerankMode } from '../../src/services/search-settings.ts';
import { crop, warpAffine } from '../../src/pipeline/rerank/warp.ts';
import { defaultTopK, firstStageOf } from '../../src/services/search-settings.ts';
import type { SearchTimings } from '../../src/services/search.service.ts';
import { DEFAULT_VOCABULARY_SIZE } from '../../src/services/vocabulary.service.ts';
import { encodePng16, makeQueries, mulberry32, pairSeed, PROTOCOL, spread } from './queries.ts';

export type Dataset = 'shg-bf' | 'vis-nir' | 'mri-ct';
export const DATASETS: readonly Dataset[] = ['shg-bf', 'vis-nir', 'mri-ct'];
export type QueryKind = 'whole' | 'crop';

/** The k of the paper's tables (reference-pipeline.md 1.6, Table 2). */
export const KS = [1, 5, 10, 15] as const;

/**
 * A configuration: how the search is called. `space` says which database it runs in: 'model' = the modalities mapped
 * to a shipped CoMIR pair (or raw where a dataset has no model, mri-ct), 'raw' = modality names without a model
 * (grey pixels). `rerank: null` = leave it out, i.e. whatever the shipped default is.
 */
export interface ConfigSpec {
  name: string;
  space: 'model' | 'raw';
  oriented: boolean;
  rerank: { mode: RerankMode; topK: number } | null;
}

/** Stage names of `SearchTimings`, in pipeline order. */
const STAGES = ['decode', 'representation', 'features', 'firstStage', 'rerank', 'total'] as const satisfies readonly (keyof SearchTimings)[];

export interface RunResult {
  direction: string;
  query: QueryKind;
  config: string;
  /** Acc@k in percent, exact id (reference 1.6). */
  acc: Record<string, number>;
  n: number;
  /** 95 % Wilson interval of each Acc@k, percent [lower, upper] (src/pipeline/evaluate.ts wilsonInterval). */
  ci: Record<string, [number, number]>;
  /** mri-ct only: a hit is any image of the query's case (data README). */
  accCase?: Record<string, number>;
  ciCase?: Record<string, [number, number]>;
  /** Per-stage query time in ms, p50 and p95 over the run's queries (search's own `timings`). */
  timings: Record<string, { p50: number; p95: number }>;
  vocabularySize: number;
  oriented: boolean;
  rerank: string;
  /**
   * Per query, in query order: its source's rank (1-based; 0 = not in the top 15), so two runs of the same queries can
   * be compared query by query (runs written before 2026-11-27 lack it).
   */
  /** Per query: the rank of its pair, and the top two scores and the top match's confidence (for calibration). */
  ranks?: { pair: string; rank: number; top?: number[]; confidence?: number }[];
}

export interface BenchmarkResult {
  dataset: Dataset;
  quick: boolean;
  created: string;
  protocol: Record<string, unknown>;
  runs: RunResult[];
  /** Per config and query kind (pooled over directions): stage -> {p50, p95} in ms. */
  timings: Record<string, Record<string, Record<string, { p50: number; p95: number }>>>;
  /** Stored bytes per repository image (histogram + word map) per vocabulary: `VectorRepository.bytesPerImage`. */
  indexBytesPerImage: Record<string, number>;
  vocabularies: Record<string, unknown>[];
  seconds: Record<string, number>;
  notes: string[];
}

export interface BenchmarkOptions {
  dataset: Dataset;
  quick?: boolean;
  /** Folder holding shg-bf/, vis-nir/, mri-ct/ (CMIR_DATA_DIR; default ../shared/data next to the repository). */
  dataDir?: string;
  /** Words per vocabulary (default: 20,000 = DEFAULT_VOCABULARY_SIZE full, 2,000 quick). */
  vocabularySize?: number;
  /** Only these configs (names as in `configsFor`). */
  configs?: readonly string[];
  /** Only these directions (e.g. 'BF->SHG'). */
  directions?: readonly string[];
  /** Only these query kinds. */
  kinds?: readonly QueryKind[];
  /** At most this many query pairs (per set for mri-ct). */
  queryLimit?: number;
  /** shg-bf: crops per core (<= 9, taken from the 3x3 grid in a fixed order). */
  cropsPerCore?: number;
  /** paper30: at most this many queries per direction and kind (it builds a 20,000-word vocabulary per query). */
  paperLimit?: number;
  /** Only load the pairs and make the queries (checks data and protocol without a database). */
  dryRun?: boolean;
  /** Also run oriented-SURF vocabularies (comir+oriented, comir+fast30+oriented). */
  oriented?: boolean;
  seed?: number;
  /**
   * shg-bf: this many distractors in each repository beside its 31 images (issue 17's "N = 1,000": 969): random crops of
   * 25-100 % of the side, rotated within +-30 degrees, drawn in equal thirds from the training cores' images of the
   * repository's modality, the vis-nir RGB images and the mri-ct slices (as grey); never from a queried (test) core.
   */
  distractors?: number;
  log?: (message: string) => void;
}

export const DEFAULT_DATA_DIR = process.env.CMIR_DATA_DIR ?? path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data');

/**
 * Quick-mode vocabulary: 1,000 words. A 2,000-word build on the 31 shg-bf images (406k descriptors) took 187 s here
 * (measured, 2 shared cores), too slow for four builds in a quick run; 1,000 is the size of issue 5's prototype.
 */
export const QUICK_VOCABULARY_SIZE = 1000;

/**
 * The configurations of issue 5. `default` leaves `rerank` out, so it is whatever the search service ships
 * (today AUTO: correlate across modalities with topK 200, verify within one with topK 30; results record which ran).
 */
/** The mri-ct CoMIR pair, when one is shipped (issue 22; `cmir train --pair mri-ct --modalities mri,other`). */
const MRI_CT_MODEL = path.join(import.meta.dirname, '..', '..', 'models', 'mri-ct');

function hasModelFor(dataset: Dataset): boolean {
  return dataset !== 'mri-ct' || existsSync(path.join(MRI_CT_MODEL, 'manifest.json'));
}

export function configsFor(dataset: Dataset, oriented: boolean): ConfigSpec[] {
  const hasModel = hasModelFor(dataset);
  const m = hasModel ? 'comir' : 'raw';
  const list: ConfigSpec[] = [];
  if (hasModel) list.push({ name: 'raw', space: 'raw', oriented: false, rerank: { mode: 'none', topK: 1 } });
  list.push(
    { name: m, space: 'model', oriented: false, rerank: { mode: 'none', topK: 1 } },
    { name: `${m}+fast15`, space: 'model', oriented: false, rerank: { mode: 'fast', topK: 15 } },
    { name: `${m}+fast30`, space: 'model', oriented: false, rerank: { mode: 'fast', topK: 30 } },
    { name: `${m}+verify30`, space: 'model', oriented: false, rerank: { mode: 'verify', topK: 30 } },
    { name: `${m}+correlate30`, space: 'model', oriented: false, rerank: { mode: 'correlate', topK: 30 } },
    // every image of a repository of up to 200 (vis-nir: 160), since re-ranking 30 cannot find what the first stage
    // missed; shg-bf's repository is 31 images, so there it equals correlate30
    ...(dataset === 'shg-bf' ? [] : [{ name: `${m}+correlate200`, space: 'model' as const, oriented: false, rerank: { mode: 'correlate' as const, topK: 200 } }]),
    { name: 'paper30', space: 'model', oriented: false, rerank: { mode: 'paper', topK: 30 } },
    { name: 'default', space: 'model', oriented: false, rerank: null },
  );
  if (oriented) {
    list.push(
      { name: `${m}+oriented`, space: 'model', oriented: true, rerank: { mode: 'none', topK: 1 } },
      { name: `${m}+fast30+oriented`, space: 'model', oriented: true, rerank: { mode: 'fast', topK: 30 } },
    );
  }
  return list;
}

// ---------------------------------------------------------------------------------------------------------------
// Datasets: pairs, directions and queries

interface Pair {
  id: string;
  /** mri-ct: the case; otherwise the id. */
  group: string;
  /** modality key -> file */
  files: Record<string, string>;
  /** vis-nir: RGB -> NIR pixel map (pairs.csv `affine`). */
  affine?: Affine;
  set?: string;
}

/** One direction: queries of `from` searched in a repository of `to` (the paper's "repository : query"). */
interface Direction {
  name: string;
  /** Modality key of the query side and of the repository side, in the pair's `files`. */
  from: string;
  to: string;
  pairs: Pair[];
  /** vis-nir NIR: the query side already carries a real warp: use it as is. */
  asIs: boolean;
  /** The pairs whose `from` side is queried. */
  queries: Pair[];
}

interface Query {
  pairId: string;
  group: string;
  kind: QueryKind;
  png: Buffer;
  noDataValue?: number;
}

function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split(/\r?\n/);
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

function parseAffine(text: string): Affine {
  const n = text.match(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi)!.map(Number);
  if (n.length !== 6) throw new Error(`affine file with ${n.length} numbers`);
  return n as unknown as Affine;
}

/**
 * The no-data value a dataset documents for a modality's files, declared as a lab would declare it (search input and
 * ingestion `noDataValue`): vis-nir NIR has "black borders where the warp left no data" (../shared/data/README.md).
 * The protocol's own rotations are not declared: their fill stands for content a real query would have.
 */
function documentedNoData(dataset: Dataset, key: string): number | undefined {
  return dataset === 'vis-nir' && key === 'NIR' ? 0 : undefined;
}


async function loadDirections(dataset: Dataset, dataDir: string, queryLimit: number | undefined): Promise<Direction[]> {
  const dir = path.join(dataDir, dataset);
  const rows = parseCsv(await readFile(path.join(dir, 'pairs.csv'), 'utf8'));
  if (dataset === 'shg-bf') {
    // Repository = all 31 images of the target modality; queries = the 13 test cores (issue 5).
    const all: Pair[] = rows.map((r) => ({ id: r.id, group: r.id, files: { SHG: path.join(dir, r.shg), BF: path.join(dir, r.bf) } }));
    const test = spread(all.filter((p, i) => rows[i].split === 'test'), queryLimit);
    return [
      { name: 'SHG->BF', from: 'SHG', to: 'BF', pairs: all, asIs: false, queries: test },
      { name: 'BF->SHG', from: 'BF', to: 'SHG', pairs: all, asIs: false, queries: test },
    ];
  }
  if (dataset === 'vis-nir') {
    const test = await Promise.all(
      rows.filter((r) => r.split === 'test').map(async (r) => ({
        id: r.id,
        group: r.id,
        files: { RGB: path.join(dir, r.rgb), NIR: path.join(dir, r.nir) },
        affine: parseAffine(await readFile(path.join(dir, r.affine), 'utf8')),
      })),
    );
    const q = spread(test, queryLimit);
    return [
      { name: 'NIR->RGB', from: 'NIR', to: 'RGB', pairs: test, asIs: true, queries: q },
      { name: 'RGB->NIR', from: 'RGB', to: 'NIR', pairs: test, asIs: false, queries: q },
    ];
  }
  // mri-ct: per set, the test split; the non-MRI side keyed by its sensor (CT, PET, SPECT).
  const out: Direction[] = [];
  for (const set of ['CT-MRI', 'PET-MRI', 'SPECT-MRI']) {
    const other = set.split('-')[0];
    const test: Pair[] = rows
      .filter((r) => r.set === set && r.split === 'test')
      .map((r) => ({ id: r.id, group: `${set}/${r.case}`, set, files: { MRI: path.join(dir, r.mri), [other]: path.join(dir, r.other) } }));
    const q = spread(test, queryLimit);
    out.push(
      { name: `${other}->MRI`, from: other, to: 'MRI', pairs: test, asIs: false, queries: q },
      { name: `MRI->${other}`, from: 'MRI', to: other, pairs: test, asIs: false, queries: q },
    );
  }
  return out;
}

/** Modality name in the database: the dataset's name where a model maps it, NAME_RAW in the raw space; mri-ct keys
 * MRI by its set so that each set has its own repository. */
function modalityName(dataset: Dataset, key: string, space: 'model' | 'raw', pair?: Pair, direction?: Direction): string {
  if (dataset === 'mri-ct') {
    const set = pair?.set ?? (direction && direction.from !== 'MRI' ? `${direction.from}-MRI` : `${direction!.to}-MRI`);
    return `${key}_${set.split('-')[0]}SET`;
  }
  return space === 'raw' ? `${key}_RAW` : key;
}

/** Distractor sources for an shg-bf repository of `key` (options.distractors): three families of files. */
async function distractorSources(dataDir: string, key: string): Promise<string[][]> {
  const at = (set: string) => async (col: string, keep: (r: Record<string, string>) => boolean = () => true) =>
    parseCsv(await readFile(path.join(dataDir, set, 'pairs.csv'), 'utf8')).filter(keep).map((r) => path.join(dataDir, set, r[col]));
  const cores = await at('shg-bf')(key === 'SHG' ? 'shg' : 'bf', (r) => r.split !== 'test');
  const visnir = await at('vis-nir')('rgb');
  const mrict = [...(await at('mri-ct')('mri')), ...(await at('mri-ct')('other'))];
  return [cores, visnir, mrict];
}

// ---------------------------------------------------------------------------------------------------------------
// Queries

async function decodeFile(file: string): Promise<PlanarImage> {
  return (await decodeImage(await readFile(file), { maxPixels: 1e9 })).image;
}

/** Box mean of a grey image over a k x k window (k odd), edges clamped: integral image. */
function boxMean(img: GreyImage, k: number): Float32Array {
  const { width: W, height: H, data } = img;
  const r = (k - 1) / 2;
  const ii = new Float64Array((W + 1) * (H + 1));
  for (let y = 0; y < H; y++) {
    let row = 0;
    for (let x = 0; x < W; x++) {
      row += data[y * W + x];
      ii[(y + 1) * (W + 1) + x + 1] = ii[y * (W + 1) + x + 1] + row;
    }
  }
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(H, y + r + 1);
    for (let x = 0; x < W; x++) {
      const x0 = Math.max(0, x - r), x1 = Math.min(W, x + r + 1);
      const s = ii[y1 * (W + 1) + x1] - ii[y0 * (W + 1) + x1] - ii[y1 * (W + 1) + x0] + ii[y0 * (W + 1) + x0];
      out[y * W + x] = s / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/**
 * Tissue (1) vs empty glass (0) of a registered SHG/BF pair, the rule CoMIR training uses
 * (training/comir/data.py `tissue_mask`): local std of BF over 15 px > 0.04 or local mean of SHG over 15 px > 0.06,
 * then a majority vote over 31 px. Thresholds were read off the train cores there (training/README.md).
 */
export function tissueMask(shg: GreyImage, bf: GreyImage): GreyImage {
  const { width, height } = bf;
  const m = boxMean(bf, 15);
  const sq = boxMean({ width, height, data: bf.data.map((v) => v * v) }, 15);
  const s = boxMean(shg, 15);
  const t = new Float32Array(width * height);
  for (let i = 0; i < t.length; i++) t[i] = Math.sqrt(Math.max(0, sq[i] - m[i] * m[i])) > 0.04 || s[i] > 0.06 ? 1 : 0;
  const maj = boxMean({ width, height, data: t }, 31);
  return { width, height, data: maj.map((v) => (v > 0.5 ? 1 : 0)) };
}

/** Minimum tissue fraction of a crop: the CoMIR training sampler's `min_tissue` = 0.5 (training/comir/data.py). */
export const MIN_TISSUE = 0.5;
/** Candidate crop offsets are laid on a grid of this step (px) in the query frame. */
const CANDIDATE_STEP = 8;

/**
 * shg-bf sub-image queries: a 3x3 grid of 30 % crops "on tissue" (issue 5) in the transformed query frame.
 * The grid's 9 cell centres are spread evenly over the bounding box of the (transformed) tissue; each cell takes the
 * candidate crop nearest its centre that lies wholly inside the transformed image (no zero fill) and is at least
 * MIN_TISSUE tissue, and that overlaps every crop already taken by at most half a side along one axis. Returns
 * fewer than 9 when the core has too little tissue (N is reported).
 */
export function tissueCrops(tissueQ: GreyImage, validQ: GreyImage, side: number): { x: number; y: number }[] {
  const { width: W, height: H } = tissueQ;
  const integral = (img: GreyImage) => {
    const ii = new Float64Array((W + 1) * (H + 1));
    for (let y = 0; y < H; y++) {
      let row = 0;
      for (let x = 0; x < W; x++) {
        row += img.data[y * W + x];
        ii[(y + 1) * (W + 1) + x + 1] = ii[y * (W + 1) + x + 1] + row;
      }
    }
    return (x: number, y: number) => (ii[(y + side) * (W + 1) + x + side] - ii[y * (W + 1) + x + side] - ii[(y + side) * (W + 1) + x] + ii[y * (W + 1) + x]) / (side * side);
  };
  const tissue = integral(tissueQ), valid = integral(validQ);
  const cands: { x: number; y: number }[] = [];
  for (let y = 0; y + side <= H; y += CANDIDATE_STEP) {
    for (let x = 0; x + side <= W; x += CANDIDATE_STEP) {
      if (valid(x, y) >= 0.999 && tissue(x, y) >= MIN_TISSUE) cands.push({ x, y });
    }
  }
  if (cands.length === 0) return [];
  // Bounding box of the candidates' centres = where crops on tissue can sit.
  const cx = cands.map((c) => c.x + side / 2), cy = cands.map((c) => c.y + side / 2);
  const [x0, x1, y0, y1] = [Math.min(...cx), Math.max(...cx), Math.min(...cy), Math.max(...cy)];
  const picked: { x: number; y: number }[] = [];
  const apart = (a: { x: number; y: number }, b: { x: number; y: number }) => Math.max(Math.abs(a.x - b.x), Math.abs(a.y - b.y)) >= side / 2;
  for (let j = 0; j < 3; j++) {
    for (let i = 0; i < 3; i++) {
      const gx = x0 + ((x1 - x0) * i) / 2, gy = y0 + ((y1 - y0) * j) / 2;
      let best: { x: number; y: number } | null = null, bestD = Infinity;
      for (const c of cands) {
        if (!picked.every((p) => apart(p, c))) continue;
        const d = (c.x + side / 2 - gx) ** 2 + (c.y + side / 2 - gy) ** 2;
        if (d < bestD) { bestD = d; best = c; }
      }
      if (best) picked.push(best);
    }
  }
  return picked;
}

/** The seeded rigid transform of one pair (protocol: rotation +-30 degrees, shift +-12 % of the side). */
function rigidFor(W: number, H: number, random: () => number): Affine {
  const degrees = (random() * 2 - 1) * PROTOCOL.maxDegrees;
  const tx = (random() * 2 - 1) * PROTOCOL.maxShift * W;
  const ty = (random() * 2 - 1) * PROTOCOL.maxShift * H;
  return rigidAbout(degrees, (W - 1) / 2, (H - 1) / 2, tx, ty);
}

/** The 30 % centre crop of an image (reference 1.5: the s-CBIR query is the centre crop). */
function centreCrop(img: PlanarImage): PlanarImage {
  const cw = Math.round(img.width * PROTOCOL.cropFraction), ch = Math.round(img.height * PROTOCOL.cropFraction);
  return crop(img, { x: Math.floor((img.width - cw) / 2), y: Math.floor((img.height - ch) / 2), width: cw, height: ch });
}

interface QuerySet {
  queries: Query[];
  /** shg-bf: crops per core actually found. */
  cropsPerPair: Record<string, number>;
}

async function buildQueries(
  dataset: Dataset,
  direction: Direction,
  opts: { seed: number; kinds: readonly QueryKind[]; cropsPerCore: number },
): Promise<QuerySet> {
  const queries: Query[] = [];
  const cropsPerPair: Record<string, number> = {};
  for (const pair of direction.queries) {
    const src = await decodeFile(pair.files[direction.from]);
    const push = async (kind: QueryKind, img: PlanarImage | Buffer) =>
      queries.push({ pairId: pair.id, group: pair.group, kind, png: Buffer.isBuffer(img) ? img : await encodePng16(img), noDataValue: documentedNoData(dataset, direction.from) });
    if (direction.asIs) {
      // vis-nir NIR: the stored image already carries the pair's real affine warp (data README); as is.
      if (opts.kinds.includes('whole')) await push('whole', await readFile(pair.files[direction.from]));
      if (opts.kinds.includes('crop')) await push('crop', centreCrop(src));
      continue;
    }
    const random = mulberry32(pairSeed(opts.seed, pair.id));
    if (dataset !== 'shg-bf') {
      const q = makeQueries(src, random);
      if (opts.kinds.includes('whole')) await push('whole', q.whole.image);
      if (opts.kinds.includes('crop')) await push('crop', q.crop.image);
      continue;
    }
    // shg-bf: one transform per core (same for both directions), whole + the 3x3 tissue grid of 30 % crops.
    const m = rigidFor(src.width, src.height, random);
    const whole = warpAffine(src, m);
    if (opts.kinds.includes('whole')) await push('whole', whole);
    if (opts.kinds.includes('crop')) {
      const shg = toGrey(await decodeFile(pair.files.SHG)), bf = toGrey(await decodeFile(pair.files.BF));
      const t = tissueMask(shg, bf);
      const tissueQ = toGrey(warpAffine({ ...t, channels: 1 }, m));
      const validQ = toGrey(warpAffine({ width: src.width, height: src.height, channels: 1, data: new Float32Array(src.width * src.height).fill(1) }, m));
      const side = Math.round(src.width * PROTOCOL.cropFraction);
      // Order: centre, corners, edges, so a subset (cropsPerCore < 9) still spreads over the core.
      const grid = tissueCrops(tissueQ, validQ, side);
      const order = [4, 0, 8, 2, 6, 1, 7, 3, 5].filter((k) => k < grid.length);
      const chosen = order.slice(0, opts.cropsPerCore).map((k) => grid[k]);
      cropsPerPair[pair.id] = chosen.length;
      for (const c of chosen) await push('crop', crop(whole, { x: c.x, y: c.y, width: side, height: side }));
    }
  }
  return { queries, cropsPerPair };
}

// ---------------------------------------------------------------------------------------------------------------
// Running

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function summarizeTimings(list: readonly SearchTimings[]): Record<string, { p50: number; p95: number }> {
  return Object.fromEntries(
    STAGES.map((s) => [s, { p50: round(percentile(list.map((t) => t[s]), 50), 1), p95: round(percentile(list.map((t) => t[s]), 95), 1) }]),
  );
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

function accTable(ranks: number[]) {
  const t = accuracyTable(ranks, KS);
  return {
    acc: Object.fromEntries(t.map((r) => [String(r.k), round(100 * r.accuracy)])),
    ci: Object.fromEntries(t.map((r) => [String(r.k), [round(100 * r.lower), round(100 * r.upper)] as [number, number]])),
  };
}

async function withApp<T>(fn: (app: App) => Promise<T>): Promise<T> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-retrieval-'));
  // Default config: modelsDir = ./models, so the shipped CoMIR pairs are registered at start.
  const app = await createApp(loadConfig({ home }, { ...process.env, DATABASE_URL: '' }), { memory: true });
  try {
    return await fn(app);
  } finally {
    await app.close();
    await rm(home, { recursive: true, force: true });
  }
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkResult> {
  const dataset = options.dataset;
  const quick = options.quick ?? false;
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  const seed = options.seed ?? 7;
  const vocabularySize = options.vocabularySize ?? (quick ? QUICK_VOCABULARY_SIZE : DEFAULT_VOCABULARY_SIZE);
  const kinds = options.kinds ?? ['whole', 'crop'];
  const cropsPerCore = Math.min(9, options.cropsPerCore ?? 9);
  const paperLimit = options.paperLimit ?? Infinity;
  const log = options.log ?? (() => {});
  const configs = configsFor(dataset, options.oriented ?? false)
    .filter((c) => !options.configs || options.configs.includes(c.name))
    .filter((c) => !(c.rerank?.mode === 'paper' && paperLimit === 0));
  const directions = (await loadDirections(dataset, dataDir, options.queryLimit)).filter(
    (d) => !options.directions || options.directions.includes(d.name),
  );

  const t0 = performance.now();
  const querySets = new Map<string, QuerySet>();
  for (const d of directions) querySets.set(d.name, await buildQueries(dataset, d, { seed, kinds, cropsPerCore }));
  const seconds: Record<string, number> = { queries: (performance.now() - t0) / 1000, ingest: 0, vocabulary: 0, search: 0 };
  log(`${dataset}: ${[...querySets].map(([k, v]) => `${k} ${v.queries.length} queries`).join(', ')} (${seconds.queries.toFixed(0)} s)`);

  const runs: RunResult[] = [];
  if (options.dryRun) configs.length = 0;
  const rawTimings = new Map<string, SearchTimings[]>();
  const indexBytesPerImage: Record<string, number> = {};
  const vocabularies: Record<string, unknown>[] = [];

  for (const space of ['raw', 'model'] as const) {
    const spaceConfigs = configs.filter((c) => c.space === space);
    if (spaceConfigs.length === 0) continue;
    await withApp(async (app) => {
      // mri-ct: one model for all three sets; its `other` network serves CT, PET and SPECT, and each set keeps its
      // own repository (modalityName), so every set's two modality names map to the model's networks.
      if (space === 'model' && dataset === 'mri-ct' && hasModelFor(dataset)) {
        const sets = ['CT', 'PET', 'SPECT'];
        await app.services.models.register(MRI_CT_MODEL, { mri: sets.map((s) => `MRI_${s}SET`), other: sets.map((s) => `${s}_${s}SET`) });
      }
      // Repository: every pair's target-side image, once per (modality name, file).
      const owner = new Map<number, { id: string; group: string }[]>();
      const ingested = new Set<string>();
      let t = performance.now();
      for (const d of directions) {
        for (const pair of d.pairs) {
          const modality = modalityName(dataset, d.to, space, pair);
          const key = `${modality}|${pair.files[d.to]}`;
          if (ingested.has(key)) continue;
          ingested.add(key);
          let imageId: number;
          try {
            imageId = (await app.services.images.ingest({
              data: await readFile(pair.files[d.to]),
              fileName: pair.files[d.to],
              modality,
              name: pair.id,
              noDataValue: documentedNoData(dataset, d.to) ?? null,
            })).id;
          } catch (e) {
            if (!(e instanceof DuplicateImageError)) throw e;
            imageId = e.existingId; // the same file stored under another pair: both ids are right answers
          }
          owner.set(imageId, [...(owner.get(imageId) ?? []), { id: pair.id, group: pair.group }]);
        }
      }
      const distracting = options.distractors ?? 0;
      if (distracting > 0) {
        if (dataset !== 'shg-bf') throw new Error('--distractors is implemented for shg-bf');
        for (const to of new Set(directions.map((d) => d.to))) {
          const sources = await distractorSources(dataDir, to);
          const random = mulberry32(seed + 1000);
          for (let k = 0; k < distracting; k++) {
            const family = sources[Math.floor(random() * sources.length)];
            const file = family[Math.floor(random() * family.length)];
            const img = toGrey(await decodeFile(file));
            const f = 0.25 + 0.75 * random();
            const w = Math.max(64, Math.round(img.width * f)), h = Math.max(64, Math.round(img.height * f));
            const x = Math.floor(random() * (img.width - w + 1)), y = Math.floor(random() * (img.height - h + 1));
            const part = crop({ ...img, channels: 1 }, { x, y, width: w, height: h });
            const posed = warpAffine(part, rigidAbout((random() * 2 - 1) * 30, (w - 1) / 2, (h - 1) / 2, 0, 0));
            await app.services.images.ingest({ data: await encodePng16(posed), fileName: `distractor-${k}`, modality: modalityName(dataset, to, space), name: `distractor-${to}-${k}` })
              .catch((e) => { if (!(e instanceof DuplicateImageError)) throw e; });
            if ((k + 1) % 100 === 0) log(`  ${space}: ${k + 1} of ${distracting} distractors in ${to} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
          }
        }
      }
      seconds.ingest += (performance.now() - t) / 1000;
      log(`  ${space}: ingested ${owner.size} images and ${distracting} distractors per repository (${((performance.now() - t) / 1000).toFixed(0)} s)`);

      for (const oriented of [false, true]) {
        const group = spaceConfigs.filter((c) => c.oriented === oriented);
        if (group.length === 0) continue;
        // One vocabulary per repository modality (the newest ready one is the active one).
        const targets = [...new Set(directions.map((d) => modalityName(dataset, d.to, space, undefined, d)))];
        // only the paper's first stage needs a vocabulary (FAST, VERIFY, PAPER); the others rank by vectors
        const needsWords = group.some((c) => c.rerank !== null && firstStageOf(c.rerank.mode as Exclude<RerankMode, 'auto'>) === 'words');
        for (const target of needsWords ? targets : []) {
          t = performance.now();
          const job = await app.services.vocabularies.build(target, { size: vocabularySize, seed: 1, oriented });
          const done = await app.services.jobs.wait(job.id);
          if (done.state !== 'SUCCEEDED') throw new Error(`vocabulary build for ${target} failed: ${done.error}`);
          const info = done.result as { vocabularyId: number; size: number; trainingDescriptors: number; iterations: number };
          const s = (performance.now() - t) / 1000;
          seconds.vocabulary += s;
          indexBytesPerImage[`${target}${oriented ? ' (oriented)' : ''}`] = Math.round(await app.repos.vectors.bytesPerImage(info.vocabularyId));
          vocabularies.push({ modality: target, space, oriented, ...info, seconds: round(s) });
          log(`  vocabulary ${target}${oriented ? ' oriented' : ''}: ${info.size} words, ${info.trainingDescriptors} descriptors, ${info.iterations} it. (${s.toFixed(0)} s)`);
        }
        for (const config of group) {
          for (const d of directions) {
            const from = modalityName(dataset, d.from, space, undefined, d), to = modalityName(dataset, d.to, space, undefined, d);
            for (const kind of kinds) {
              let qs = querySets.get(d.name)!.queries.filter((q) => q.kind === kind);
              if (config.rerank?.mode === 'paper') qs = spread(qs, Number.isFinite(paperLimit) ? paperLimit : undefined);
              if (qs.length === 0) continue;
              t = performance.now();
              const ranks: number[] = [], caseRanks: number[] = [], times: SearchTimings[] = [];
              const tops: { top: number[]; confidence?: number }[] = [];
              const ran = new Set<string>();
              for (const q of qs) {
                const res = await app.services.search.search({
                  data: q.png,
                  modality: from,
                  target: to,
                  first: KS[KS.length - 1],
                  noDataValue: q.noDataValue ?? null,
                  ...(config.rerank ? { rerank: config.rerank } : {}),
                });
                const owners = res.matches.map((m) => owner.get(m.imageId) ?? []);
                ranks.push(owners.findIndex((o) => o.some((x) => x.id === q.pairId)) + 1);
                caseRanks.push(owners.findIndex((o) => o.some((x) => x.group === q.group)) + 1);
                times.push(res.timings);
                tops.push({ top: res.matches.slice(0, 2).map((m) => Math.round(m.score * 1e5) / 1e5), confidence: res.matches[0]?.confidence });
                ran.add(res.rerank);
              }
              seconds.search += (performance.now() - t) / 1000;
              const key = `${config.name}|${kind}`;
              rawTimings.set(key, [...(rawTimings.get(key) ?? []), ...times]);
              const a = accTable(ranks);
              const run: RunResult = {
                direction: d.name,
                query: kind,
                config: config.name,
                acc: a.acc,
                n: ranks.length,
                ci: a.ci,
                timings: summarizeTimings(times),
                vocabularySize,
                oriented,
                rerank: config.rerank
                  ? `${config.rerank.mode}${config.rerank.mode === 'none' ? '' : config.rerank.topK}`
                  : `service default (${[...ran].map((m) => (m === 'none' ? m : `${m}${defaultTopK(m as Exclude<RerankMode, 'auto'>)}`)).join(', ')})`,
                ranks: qs.map((q, k) => ({ pair: q.pairId, rank: ranks[k], ...tops[k] })),
              };
              if (dataset === 'mri-ct') {
                const c = accTable(caseRanks);
                run.accCase = c.acc;
                run.ciCase = c.ci;
              }
              runs.push(run);
              log(`  ${config.name.padEnd(22)} ${d.name.padEnd(10)} ${kind.padEnd(5)} n=${String(ranks.length).padStart(3)} ` +
                KS.map((k) => `@${k} ${a.acc[k].toFixed(1)}`).join(' ') + ` (${((performance.now() - t) / 1000).toFixed(0)} s)`);
            }
          }
        }
      }
    });
  }

  const timings: BenchmarkResult['timings'] = {};
  for (const [key, list] of rawTimings) {
    const [config, kind] = key.split('|');
    (timings[config] ??= {})[kind] = summarizeTimings(list);
  }
  const notes = [
    'Acc@k in percent, hit = exact id (reference-pipeline.md 1.6); ci = 95 % Wilson interval.',
    `Chance level (a random ranking): Acc@k = k / repository size; repository sizes: ${directions.map((d) => `${d.name} ${new Set(d.pairs.map((p) => p.files[d.to])).size}`).join(', ')}.`,
    `Vocabulary: ${vocabularySize} words per repository modality, upright dense SURF unless the config says oriented, seed 1.`,
    `Queries: seeded rigid transform per pair (seed ${seed}; rotation +-${PROTOCOL.maxDegrees} deg, shift +-${PROTOCOL.maxShift * 100} % of the side), crops ${PROTOCOL.cropFraction * 100} % of the side.`,
  ];
  if (options.distractors) notes.push(`Each repository also holds ${options.distractors} distractors (repository size ${31 + options.distractors}): random 25-100 % crops, rotated within +-30 degrees, in equal thirds from the shg-bf training cores of the repository's modality, the vis-nir RGB images and the mri-ct slices, as grey (seed ${seed + 1000}); never from a queried core.`);
  if (dataset === 'shg-bf') {
    const per = Object.values(querySets.values().next().value?.cropsPerPair ?? {});
    notes.push(
      `shg-bf crops: 3x3 grid over the transformed tissue, each crop wholly inside the transformed image and >= ${MIN_TISSUE * 100} % tissue ` +
        `(tissue = training/comir/data.py tissue_mask); crops per core used: ${per.join(', ') || '-'}.`,
      'shg-bf: the same transform per core is used in both directions (the pair is registered).',
    );
  }
  if (dataset === 'vis-nir') notes.push('vis-nir: NIR queries are the stored NIR images (real affine warp, pairs.csv `affine`) as is, crop = 30 % centre crop; RGB queries are seeded rigid transforms; the NIR repository is the stored (warped) NIR images. NIR files declare their black warp fill as no data (noDataValue 0, as queries and at ingestion; docs/adr/0006).');
  notes.push('correlate configs and default use the target model pair\'s pose defaults (manifest `search`; docs/adr/0005): vis-nir sweeps scales 0.926, 1, 1.08 with the rotations, shg-bf one scale.');
  if (dataset === 'mri-ct') {
    notes.push(hasModelFor(dataset)
      ? 'mri-ct: the models/mri-ct CoMIR pair (its `other` network serves CT, PET and SPECT; `raw` = grey pixels); one repository per set (test split); accCase counts a hit by case.'
      : 'mri-ct: no CoMIR model, so every config runs on raw grey pixels; one repository per set (test split); accCase counts a hit by case.');
  }
  if (paperLimit === 0) notes.push('paper30 not run (paperLimit 0): it trains a 20,000-word vocabulary per query on the top-30 candidates\' patches (reference 1.4a), minutes per query on this machine; run it with --paper-limit N.');
  else if (Number.isFinite(paperLimit)) notes.push(`paper30 runs on at most ${paperLimit} queries per direction and kind (a 20,000-word vocabulary per query; see n).`);
  return {
    dataset,
    quick,
    created: new Date().toISOString(),
    protocol: { seed, vocabularySize, kinds, cropsPerCore: dataset === 'shg-bf' ? cropsPerCore : undefined, queryLimit: options.queryLimit ?? null, paperLimit: Number.isFinite(paperLimit) ? paperLimit : null },
    runs,
    timings,
    indexBytesPerImage,
    vocabularies,
    seconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, round(v)])),
    notes,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Report

/**
 * The paper's Table 2 (Breznik et al. 2024; reference-pipeline.md section 5), "repository : query", N = 134 per
 * direction, 834 px cores of its own TMA data set. Our direction "BF->SHG" = BF queries in an SHG repository.
 */
export const PAPER_TABLE2: { direction: string; query: QueryKind; config: string; acc: number[] }[] = [
  { direction: 'BF->SHG', query: 'whole', config: 'no RR', acc: [26.9, 51.5, 59.0, 63.4] },
  { direction: 'BF->SHG', query: 'whole', config: 'RR15', acc: [32.8, 55.2, 62.0, 63.4] },
  { direction: 'BF->SHG', query: 'whole', config: 'RR30', acc: [34.3, 59.7, 75.4, 75.4] },
  { direction: 'SHG->BF', query: 'whole', config: 'no RR', acc: [21.6, 45.5, 61.2, 69.4] },
  { direction: 'SHG->BF', query: 'whole', config: 'RR15', acc: [42.5, 57.5, 66.4, 69.4] },
  { direction: 'SHG->BF', query: 'whole', config: 'RR30', acc: [45.5, 64.9, 83.6, 83.6] },
  { direction: 'BF->SHG', query: 'crop', config: 'no RR', acc: [11.2, 25.4, 35.8, 42.5] },
  { direction: 'BF->SHG', query: 'crop', config: 'RR15', acc: [23.1, 37.3, 41.8, 42.5] },
  { direction: 'BF->SHG', query: 'crop', config: 'RR30', acc: [27.6, 47.0, 51.5, 55.9] },
  { direction: 'SHG->BF', query: 'crop', config: 'no RR', acc: [10.4, 32.8, 44.8, 53.7] },
  { direction: 'SHG->BF', query: 'crop', config: 'RR15', acc: [29.1, 46.3, 53.7, 53.7] },
  { direction: 'SHG->BF', query: 'crop', config: 'RR30', acc: [29.1, 53.7, 63.4, 67.2] },
];

export function renderMarkdown(r: BenchmarkResult, command: string): string {
  const lines: string[] = [];
  lines.push(`# Cross-modal retrieval: ${r.dataset}${r.quick ? ' (quick)' : ''}`, '');
  lines.push(`\`${command}\` — ${r.created}, Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores, shared).`, '');
  lines.push('Direction "A->B" = queries of A searched in a repository of B. Acc@k in percent with the 95 % Wilson interval.', '');
  const caseCol = r.dataset === 'mri-ct';
  lines.push(`| direction | query | config | N | Acc@1 | Acc@5 | Acc@10 | Acc@15 |${caseCol ? ' case Acc@1 | case Acc@10 |' : ''}`);
  lines.push(`|---|---|---|---:|---|---|---|---|${caseCol ? '---|---|' : ''}`);
  const cell = (a: number, ci: [number, number]) => `${a.toFixed(1)} (${ci[0].toFixed(0)}-${ci[1].toFixed(0)})`;
  const sorted = [...r.runs].sort((a, b) => a.direction.localeCompare(b.direction) || (a.query === b.query ? 0 : a.query === 'whole' ? -1 : 1));
  for (const run of sorted) {
    lines.push(
      `| ${run.direction} | ${run.query} | ${run.config} | ${run.n} | ${KS.map((k) => cell(run.acc[k], run.ci[k])).join(' | ')} |` +
        (caseCol ? ` ${cell(run.accCase!['1'], run.ciCase!['1'])} | ${cell(run.accCase!['10'], run.ciCase!['10'])} |` : ''),
    );
  }
  if (r.dataset === 'shg-bf') {
    lines.push('', "## The paper's Table 2, for comparison (data differ)", '');
    lines.push('Breznik et al. 2024, Table 2 (reference-pipeline.md section 5): their own TMA set, 134 cores of 834 px, N = 134 per');
    lines.push('direction, crops = one 256 px centre crop per core. Ours: 31 cores of 512 px (an 834 px crop there is ~208 px here),');
    lines.push('13 test cores as queries, 9 tissue crops per core, our CoMIR models. The numbers are not comparable one to one.', '');
    lines.push('| direction | query | paper config | Acc@1 | Acc@5 | Acc@10 | Acc@15 | ours, same config, Acc@1 | ours, default, Acc@1 |');
    lines.push('|---|---|---|---|---|---|---|---|---|');
    const ours = (d: string, q: string, c: string) => r.runs.find((x) => x.direction === d && x.query === q && x.config === c)?.acc['1'];
    for (const p of PAPER_TABLE2) {
      const c = p.config === 'no RR' ? 'comir' : p.config === 'RR15' ? 'comir+fast15' : 'comir+fast30';
      const o = ours(p.direction, p.query, c);
      const d = ours(p.direction, p.query, 'default');
      lines.push(
        `| ${p.direction} | ${p.query} | ${p.config} | ${p.acc.map((a) => a.toFixed(1)).join(' | ')} | ${o === undefined ? '-' : o.toFixed(1)} (${c}) | ${d === undefined ? '-' : d.toFixed(1)} |`,
      );
    }
  }
  lines.push('', '## Per-stage query time (ms, p50 / p95, pooled over directions)', '');
  lines.push('| config | query | decode | CoMIR / representation | features | first stage | re-rank | total |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const [config, byKind] of Object.entries(r.timings)) {
    for (const [kind, t] of Object.entries(byKind)) {
      lines.push(`| ${config} | ${kind} | ${STAGES.map((s) => `${t[s].p50.toFixed(0)} / ${t[s].p95.toFixed(0)}`).join(' | ')} |`);
    }
  }
  lines.push('', '## Index', '');
  lines.push('| repository modality | bytes per image (histogram + word map) |', '|---|---:|');
  for (const [k, v] of Object.entries(r.indexBytesPerImage)) lines.push(`| ${k} | ${v.toLocaleString('en')} |`);
  lines.push('', 'Vocabularies: ' + r.vocabularies.map((v) => `${v.modality}${v.oriented ? ' (oriented)' : ''} ${v.size} words from ${v.trainingDescriptors} descriptors, ${v.iterations} it., ${v.seconds} s`).join('; ') + '.');
  lines.push('', `Wall time (s): ${Object.entries(r.seconds).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '');
  lines.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
