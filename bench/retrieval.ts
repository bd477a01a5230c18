/**
 * Cross-modal retrieval benchmark of issue 5 (the paper's protocol on real pairs, through the services):
 *
 *   npm run bench:retrieval -- --dataset shg-bf|vis-nir|mri-ct [--quick] [--oriented] [--size N]
 *       [--configs raw,comir,...] [--directions BF->SHG,...] [--limit N] [--paper-limit N] [--seed N]
 *       [--distractors N] [--out DIR]
 *
 * --distractors N (shg-bf): N distractors beside each repository's 31 images (969: issue 17's N = 1,000).
 *
 * Writes bench/results/<dataset>.json and .md (<dataset>-quick.* with --quick). Data: CMIR_DATA_DIR or --data
 * (default ../shared/data). See bench/lib/retrieval-harness.ts for the protocol and the JSON shape.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchmarkOptions, type Dataset, DATASETS, DEFAULT_DATA_DIR, renderMarkdown, runBenchmark } from './lib/retrieval-harness.ts';

/**
 * --quick subsets, sized for the 2 shared cores here: 1,000-word vocabularies (QUICK_VOCABULARY_SIZE), fewer
 * queries, and no paper30 (each of its queries trains a 20,000-word vocabulary on the top-30 candidates' patches,
 * reference 1.4a; pass --paper-limit N to run it on N queries per direction and kind).
 */
const QUICK: Record<Dataset, Partial<BenchmarkOptions>> = {
  'shg-bf': { cropsPerCore: 3, paperLimit: 0 },
  'vis-nir': { queryLimit: 24, paperLimit: 0 },
  'mri-ct': { queryLimit: 12, paperLimit: 0 },
};

const { values: args } = parseArgs({
  options: {
    dataset: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
    oriented: { type: 'boolean', default: false },
    size: { type: 'string' },
    configs: { type: 'string' },
    directions: { type: 'string' },
    kinds: { type: 'string' },
    limit: { type: 'string' },
    'crops-per-core': { type: 'string' },
    'paper-limit': { type: 'string' },
    seed: { type: 'string', default: '7' },
    distractors: { type: 'string' },
    data: { type: 'string', default: DEFAULT_DATA_DIR },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results') },
  },
});

const dataset = args.dataset as Dataset;
if (!DATASETS.includes(dataset)) {
  console.error(`--dataset must be one of ${DATASETS.join(', ')}`);
  process.exit(2);
}
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean);
const options: BenchmarkOptions = {
  dataset,
  quick: args.quick,
  dataDir: args.data,
  seed: Number(args.seed),
  oriented: args.oriented,
  dryRun: args['dry-run'],
  ...(args.quick ? QUICK[dataset] : {}),
  ...(args.size ? { vocabularySize: num(args.size) } : {}),
  ...(args.configs ? { configs: list(args.configs) } : {}),
  ...(args.directions ? { directions: list(args.directions) } : {}),
  ...(args.kinds ? { kinds: list(args.kinds) as ('whole' | 'crop')[] } : {}),
  ...(args.limit ? { queryLimit: num(args.limit) } : {}),
  ...(args['crops-per-core'] ? { cropsPerCore: num(args['crops-per-core']) } : {}),
  ...(args['paper-limit'] ? { paperLimit: num(args['paper-limit']) } : {}),
  ...(args.distractors ? { distractors: num(args.distractors) } : {}),
  log: (m) => console.error(m),
};
const result = await runBenchmark(options);
if (args['dry-run']) process.exit(0);
const name = `${dataset}${args.quick ? '-quick' : ''}`;
await mkdir(args.out!, { recursive: true });
const command = `npm run bench:retrieval -- ${process.argv.slice(2).join(' ')}`;
await writeFile(path.join(args.out!, `${name}.json`), JSON.stringify({ ...result, commands: [command] }, null, 2) + '\n');
await writeFile(path.join(args.out!, `${name}.md`), renderMarkdown(result, command));
console.log(renderMarkdown(result, command));
