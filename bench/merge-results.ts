/**
 * Merges a partial retrieval run into a committed one, so that re-running a few configurations on this slow machine
 * does not throw away the others:
 *   npm run bench:merge -- bench/results/vis-nir-quick.json tmp/bench-vis/vis-nir-quick.json
 * With one file, only its markdown is written again (after a change to the report's layout).
 * Runs (per configuration, direction and query kind) and timings (per configuration and kind) of the second file
 * replace those of the first, and its vocabularies are added; everything else is kept. The markdown is written again next to the first file, and its notes say which configurations came from
 * which run (dates and commands), since the two runs may differ in code.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { type BenchmarkResult, renderMarkdown } from './lib/retrieval-harness.ts';

async function main() {
  const [basePath, extraPath] = process.argv.slice(2);
  if (!basePath) {
    console.error('usage: npm run bench:merge -- BASE.json [EXTRA.json]');
    process.exit(2);
  }
  const base = JSON.parse(await readFile(basePath, 'utf8')) as BenchmarkResult & { commands?: string[] };
  if (!extraPath) {
    const commands = base.commands ?? [`npm run bench:retrieval -- --dataset ${base.dataset}${base.quick ? ' --quick' : ''}`];
    await writeFile(basePath.replace(/\.json$/, '.md'), renderMarkdown(base, commands.join('` + `')));
    console.log(`wrote ${basePath.replace(/\.json$/, '.md')}`);
    return;
  }
  const extra = JSON.parse(await readFile(extraPath, 'utf8')) as BenchmarkResult & { commands?: string[] };
  if (base.dataset !== extra.dataset || base.quick !== extra.quick) throw new Error('the two runs are of different datasets or modes');
  const rerun = new Set(extra.runs.map((r) => r.config));
  // a run is one (config, direction, query kind): a partial re-run of some kinds keeps the others
  const key = (r: { config: string; direction: string; query: string }) => `${r.config}|${r.direction}|${r.query}`;
  const replaced = new Set(extra.runs.map(key));
  const aboutRerun = (note: string) => [...rerun].some((c) => note.startsWith(`${c} `));
  const timings: BenchmarkResult['timings'] = { ...base.timings };
  for (const [config, kinds] of Object.entries(extra.timings)) timings[config] = { ...base.timings[config], ...kinds };
  const merged: BenchmarkResult & { commands: string[] } = {
    ...base,
    created: extra.created,
    runs: [...base.runs.filter((r) => !replaced.has(key(r))), ...extra.runs],
    timings,
    vocabularies: [...base.vocabularies, ...extra.vocabularies],
    notes: [
      // a note about a re-run configuration ("paper30 not run ...") comes from the re-run
      ...base.notes.filter((n) => !n.startsWith('Merged:') && !aboutRerun(n)),
      ...extra.notes.filter(aboutRerun),
      `Merged: ${[...rerun].map((c) => `${c} (${[...new Set(extra.runs.filter((r) => r.config === c).map((r) => r.query))].join(', ')})`).join(', ')} from the run of ${extra.created}; the other runs from the run of ${base.created}.`,
    ],
    // runs written before results recorded their command: the command that reproduces them
    commands: [
      ...(base.commands ?? [`npm run bench:retrieval -- --dataset ${base.dataset}${base.quick ? ' --quick' : ''}`]),
      ...(extra.commands ?? [`npm run bench:retrieval -- --dataset ${extra.dataset}${extra.quick ? ' --quick' : ''} --configs ${[...rerun].join(',')}`]),
    ],
  };
  await writeFile(basePath, JSON.stringify(merged, null, 2) + '\n');
  const md = basePath.replace(/\.json$/, '.md');
  await writeFile(md, renderMarkdown(merged, merged.commands.join('` + `')));
  console.log(`wrote ${basePath} and ${md}: ${merged.runs.length} runs (${rerun.size} configurations from ${extraPath})`);
}
main();
