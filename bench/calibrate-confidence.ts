/**
 * Calibrates match confidence (src/pipeline/rerank/confidence.ts) on the top-1 answers of benchmark runs of the
 * default search: for each model pair, a logistic curve of "top-1 is right" against the top-1's margin over the
 * second, and the lowest threshold whose answers were right >= 98 % of the time. Then, per dataset and query kind, the
 * precision and coverage of top-1 answers at or above that threshold.
 *
 *   npm run bench:calibrate -- --vis-nir bench/results/scale-retrieval-160-default.json --shg-bf tmp/bench-shg/shg-bf-quick.json
 *
 * Inputs: a bench:scale-retrieval JSON (rows with `tops` and `ranks`) or a bench:retrieval JSON (runs of config
 * `default` whose `ranks` carry `top`). Writes bench/results/confidence.json and .md; the fitted values go into
 * CALIBRATED and DEFAULT_CONFIDENCE by hand (they are code, cited to these files).
 *
 * The curve is fitted and the threshold chosen on the same answers whose precision is reported (in-sample); with a
 * few dozen answers per pair the figures are a first calibration, not a guarantee.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { atThreshold, chooseThreshold, fitConfidence, logistic } from '../src/pipeline/rerank/confidence.ts';

interface Sample { dataset: string; direction: string; query: string; margin: number; right: boolean }

const { values: args } = parseArgs({ options: { 'vis-nir': { type: 'string' }, 'shg-bf': { type: 'string' }, precision: { type: 'string', default: '0.98' } } });
const PRECISION = Number(args.precision);

/** The top-1 answers of one results file, whichever benchmark wrote it. */
async function samples(dataset: string, file: string): Promise<Sample[]> {
  const json = JSON.parse(await readFile(file, 'utf8'));
  const out: Sample[] = [];
  const push = (direction: string, query: string, top: number[] | undefined, rank: number | null) => {
    if (!top || top.length === 0) return;
    out.push({ dataset, direction, query, margin: top[0] - (top[1] ?? 0), right: rank === 1 });
  };
  for (const row of json.rows ?? []) {
    (row.tops as number[][] | undefined)?.forEach((top, i) => push(row.direction, row.query, top, row.ranks[i]));
  }
  for (const run of json.runs ?? []) {
    if (run.config !== 'default') continue;
    for (const r of run.ranks ?? []) push(run.direction, run.query, r.top, r.rank);
  }
  return out;
}

const sets: Record<string, Sample[]> = {};
for (const dataset of ['vis-nir', 'shg-bf'] as const) if (args[dataset]) sets[dataset] = await samples(dataset, args[dataset]!);
const all = Object.values(sets).flat();
if (all.length === 0) throw new Error('no samples: pass --vis-nir and/or --shg-bf results files with per-query top scores');

const r3 = (v: number) => Math.round(v * 1000) / 1000;
const pct = (v: number) => Math.round(v * 1000) / 10;
function calibrate(list: Sample[]) {
  const fit = fitConfidence(list);
  const scored = list.map((s) => ({ ...s, confidence: logistic(s.margin, fit) }));
  const chosen = chooseThreshold(scored, PRECISION);
  return { model: { midpoint: r3(fit.midpoint), scale: r3(fit.scale), threshold: r3(chosen.threshold) }, fit, scored };
}

const models: Record<string, { midpoint: number; scale: number; threshold: number }> = {};
const rows: Record<string, unknown>[] = [];
for (const [dataset, list] of [...Object.entries(sets), ['default (pooled)', all] as const]) {
  const { model, scored } = calibrate(list);
  models[dataset] = model;
  if (dataset.startsWith('default')) continue;
  const groups = new Map<string, typeof scored>();
  for (const s of scored) groups.set(`${s.direction}|${s.query}`, [...(groups.get(`${s.direction}|${s.query}`) ?? []), s]);
  for (const [key, g] of groups) {
    const [direction, query] = key.split('|');
    // the threshold as shipped (rounded), so that the table says what a client sees
    const at = atThreshold(g.map((s) => ({ confidence: logistic(s.margin, model), right: s.right })), model.threshold);
    rows.push({ dataset, direction, query, n: g.length, acc1: pct(g.filter((s) => s.right).length / g.length), threshold: model.threshold, precision: pct(at.precision), coverage: pct(at.coverage) });
  }
}

const dir = path.join(import.meta.dirname, 'results');
const created = new Date().toISOString();
const inputs = Object.fromEntries(Object.keys(sets).map((d) => [d, args[d as 'vis-nir' | 'shg-bf']]));
await writeFile(path.join(dir, 'confidence.json'), JSON.stringify({ created, precisionTarget: PRECISION, inputs, models, confidence: rows }, null, 2) + '\n');
const md = [
  '# Match confidence calibration (`npm run bench:calibrate`)',
  '',
  `Created ${created}. Top-1 answers of the default search; confidence = logistic(margin of the top-1 over the second); threshold = the lowest confidence whose answers were right >= ${PRECISION * 100} % of the time (in-sample: fitted and measured on the same answers).`,
  '',
  '| model pair | midpoint | scale | threshold |',
  '|---|---|---|---|',
  ...Object.entries(models).map(([d, m]) => `| ${d} | ${m.midpoint} | ${m.scale} | ${m.threshold} |`),
  '',
  '| dataset | direction | query | N | Acc@1 % | precision % at threshold | coverage % |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.dataset} | ${r.direction} | ${r.query} | ${r.n} | ${r.acc1} | ${r.precision} | ${r.coverage} |`),
  '',
  `Inputs: ${Object.entries(inputs).map(([d, f]) => `${d}: \`${f}\``).join(', ')}.`,
  '',
];
await writeFile(path.join(dir, 'confidence.md'), md.join('\n'));
console.log(md.join('\n'));
