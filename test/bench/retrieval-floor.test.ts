/**
 * Regression floors of the cross-modal retrieval benchmark (issue 5): small versions of
 * `npm run bench:retrieval -- --dataset shg-bf|vis-nir --quick`, run through the same harness (fresh in-memory database,
 * ingestion, vocabulary Job, `search`). Asserts Acc@k floors a little below the numbers measured when the floors were
 * set, so a regression in the retrieval path fails CI. Not a timed test. Skipped when the real data are absent
 * (../shared/data, or CMIR_DATA_DIR; they are never copied into the repository: data README).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { runBenchmark, type RunResult } from '../../bench/lib/retrieval-harness.ts';

const dataDir = process.env.CMIR_DATA_DIR ?? path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
const present = existsSync(path.join(dataDir, 'shg-bf', 'pairs.csv'));

/**
 * Kept small for CI on 2 cores: one direction, the CoMIR space only, a 500-word vocabulary, 13 whole cores and 3
 * tissue crops per core (N = 39).
 */
const OPTIONS = {
  dataset: 'shg-bf',
  quick: true,
  dataDir,
  vocabularySize: 500,
  directions: ['BF->SHG'],
  configs: ['comir', 'default'],
  cropsPerCore: 3,
  paperLimit: 0,
} as const;

/**
 * Floors in percent, about one whole query (7.7 points) or two crops below the numbers measured when they were set.
 * `comir` (no re-ranking: the bag of words until 2026-12-02, the vector first stage alone since docs/adr/0011) was near
 * chance (Acc@k = k/31 for a random ranking), so its floors only catch a broken path:
 * on 2026-11-27 with the GPU-trained models/shg-bf (docs/adr/0010) and OPTIONS, whole {1: 0, 5: 23.1, 10: 46.2,
 * 15: 53.8}, crop {1: 0, 5: 20.5, 10: 30.8, 15: 43.6}. `default` is dense correlation across the pair
 * (search.service.ts autoRerank) with the best 20 refined (the manifest's `search.refine`): whole {1: 92.3, 5: 100,
 * 10: 100, 15: 100}, crop {1: 35.9, 5: 56.4, 10: 61.5, 15: 74.4}, as with 1,000 words (bench/results/shg-bf-quick.md);
 * unrefined, whole {1: 84.6, 5: 92.3, 10: 92.3, 15: 100}, crop {1: 33.3, 5: 48.7, 10: 61.5, 15: 76.9}. Before
 * correlation also saw the images the first stage leaves out (InvertedFile.withUnranked, docs/adr/0010), these 500
 * words gave crops {1: 10.3, 5: 23.1, 10: 35.9, 15: 41.0}: the floors below catch that regression. The 350-step CPU
 * model before the GPU-trained one gave whole {1: 23.1, 5: 46.2, 10: 53.8, 15: 53.8} here. Raise these as accuracy
 * improves.
 */
const FLOORS: { query: 'whole' | 'crop'; config: string; acc: Record<string, number> }[] = [
  { query: 'whole', config: 'comir', acc: { '10': 23, '15': 38 } },
  { query: 'crop', config: 'comir', acc: { '10': 23, '15': 38 } },
  { query: 'whole', config: 'default', acc: { '1': 84, '5': 92, '10': 92 } },
  { query: 'crop', config: 'default', acc: { '1': 30, '5': 51, '10': 56, '15': 69 } },
];

describe.runIf(present)('retrieval floor (shg-bf, BF->SHG, quick)', () => {
  // 382 s here with refinement, on a machine shared with a benchmark (355 s in the full suite before the correlate
  // default)
  test('Acc@k stays above the floors', { timeout: 1_200_000 }, async () => {
    const result = await runBenchmark({ ...OPTIONS, directions: [...OPTIONS.directions], configs: [...OPTIONS.configs] });
    const find = (query: string, config: string): RunResult => {
      const run = result.runs.find((r) => r.direction === 'BF->SHG' && r.query === query && r.config === config);
      expect(run, `${query} ${config}`).toBeDefined();
      return run!;
    };
    for (const r of result.runs) console.log(`floor run: ${r.direction} ${r.query} ${r.config} n=${r.n} acc=${JSON.stringify(r.acc)}`);
    expect(find('whole', 'comir').n).toBe(13);
    expect(find('crop', 'comir').n).toBe(39);
    for (const f of FLOORS) {
      const run = find(f.query, f.config);
      for (const [k, floor] of Object.entries(f.acc)) {
        expect(run.acc[k], `${f.config} ${f.query} Acc@${k} (measured ${JSON.stringify(run.acc)})`).toBeGreaterThanOrEqual(floor);
      }
    }
  });
});

describe.skipIf(present)('retrieval floor (shg-bf)', () => {
  test.skip(`skipped: no data at ${dataDir} (set CMIR_DATA_DIR)`, () => {});
});

const visNirPresent = existsSync(path.join(dataDir, 'vis-nir', 'pairs.csv'));

/**
 * vis-nir, where the default correlates the images' edges beside the CoMIR (docs/adr/0008): 8 whole NIR queries
 * (every 20th test pair) against all 160 RGB images, a 500-word vocabulary (the default re-ranks all 160 anyway).
 */
const VIS_NIR_OPTIONS = {
  dataset: 'vis-nir',
  quick: true,
  dataDir,
  vocabularySize: 500,
  directions: ['NIR->RGB'],
  configs: ['default'],
  kinds: ['whole'],
  queryLimit: 8,
  paperLimit: 0,
} as const;

/**
 * Floors in percent, one query (12.5 points) below the numbers measured when they were set: on 2026-11-27 all 8 at
 * rank 1, {1: 100, 5: 100, 10: 100, 15: 100} (988 s, the machine shared with a benchmark), and again with the
 * GPU-trained models/vis-nir (docs/adr/0010; 465 s, shared likewise). Without structure (the 450-step CoMIR alone) two
 * of them fell to ranks 9 and 30 (indoor-0000, urban-0000; docs/adr/0008's experiment), Acc@1 75: below the floor.
 */
const VIS_NIR_FLOORS: Record<string, number> = { '1': 87, '5': 87, '10': 87 };

describe.runIf(visNirPresent)('retrieval floor (vis-nir, NIR->RGB whole, quick)', () => {
  test('Acc@k stays above the floors', { timeout: 1_800_000 }, async () => {
    const result = await runBenchmark({ ...VIS_NIR_OPTIONS, directions: [...VIS_NIR_OPTIONS.directions], configs: [...VIS_NIR_OPTIONS.configs], kinds: [...VIS_NIR_OPTIONS.kinds] });
    const run = result.runs.find((r) => r.direction === 'NIR->RGB' && r.query === 'whole' && r.config === 'default');
    expect(run).toBeDefined();
    console.log(`floor run: NIR->RGB whole default n=${run!.n} acc=${JSON.stringify(run!.acc)} ranks=${JSON.stringify(run!.ranks)}`);
    expect(run!.n).toBe(8);
    for (const [k, floor] of Object.entries(VIS_NIR_FLOORS)) {
      expect(run!.acc[k], `default whole Acc@${k} (measured ${JSON.stringify(run!.acc)})`).toBeGreaterThanOrEqual(floor);
    }
  });
});

describe.skipIf(visNirPresent)('retrieval floor (vis-nir)', () => {
  test.skip(`skipped: no data at ${dataDir} (set CMIR_DATA_DIR)`, () => {});
});
