import type { Command } from 'commander';
import { invalidParameter } from '../../errors.ts';
import { withApp } from '../app.ts';
import { printList } from '../output.ts';

/** Parses repeated `--map shg=SHG` options; a network named twice serves both modalities (`--map other=CT --map other=PET`). */
function collect(value: string, previous: Record<string, string[]>): Record<string, string[]> {
  const m = /^([^=]+)=([^=]+)$/.exec(value);
  if (!m) throw invalidParameter('--map', 'NETWORK=MODALITY, e.g. shg=SHG', value);
  return { ...previous, [m[1]]: [...(previous[m[1]] ?? []), m[2]] };
}

export function registerModels(program: Command): void {
  const models = program.command('models').description('CoMIR model pairs (stage I)');
  models
    .command('add')
    .description('register a model folder (manifest.json + two ONNX files), validated against its manifest')
    .argument('<dir>', 'model folder, e.g. models/shg-bf')
    .option('--map <network=modality>', 'modality for a network (default: its name in upper case); repeat a network to map it to several modalities', collect, {})
    .option('--home <dir>')
    .action(async (dir: string, opts: { map: Record<string, string[]>; home?: string }) => {
      await withApp(opts, async (app) => {
        const { model, modalities } = await app.services.models.register(dir, opts.map);
        console.log(`registered ${model.name}@${model.version.slice(0, 12)} for ${modalities.map((m) => `${m.name} (${m.comirNetwork})`).join(', ')}`);
      });
    });
  models
    .command('list')
    .description('list registered model pairs: name, version, folder')
    .option('--json', 'print a JSON array')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { json?: boolean; home?: string }) => {
      const rows = (await withApp(opts, (app) => app.services.models.list())).map((m) => ({ name: m.name, version: m.version, dir: m.dir, createdAt: m.createdAt.toISOString() }));
      printList(rows, {
        json: opts.json,
        header: ['name', 'version', 'folder'],
        row: (m) => [m.name, m.version.slice(0, 12), m.dir],
        empty: 'no model pairs registered (`cmir models add DIR` registers one)',
      });
    });
}
