import type { Command } from 'commander';
import { invalidParameter } from '../../errors.ts';
import { withApp } from '../app.ts';

/** Parses repeated `--map shg=SHG` options. */
function collect(value: string, previous: Record<string, string>): Record<string, string> {
  const m = /^([^=]+)=([^=]+)$/.exec(value);
  if (!m) throw invalidParameter('--map', 'NETWORK=MODALITY, e.g. shg=SHG', value);
  return { ...previous, [m[1]]: m[2] };
}

export function registerModels(program: Command): void {
  const models = program.command('models').description('CoMIR model pairs (stage I)');
  models
    .command('add')
    .description('register a model folder (manifest.json + two ONNX files), validated against its manifest')
    .argument('<dir>', 'model folder, e.g. models/shg-bf')
    .option('--map <network=modality>', 'modality for a network (default: its name in upper case)', collect, {})
    .option('--home <dir>')
    .action(async (dir: string, opts: { map: Record<string, string>; home?: string }) => {
      await withApp(opts, async (app) => {
        const { model, modalities } = await app.services.models.register(dir, opts.map);
        console.log(`registered ${model.name}@${model.version.slice(0, 12)} for ${modalities.map((m) => `${m.name} (${m.comirNetwork})`).join(', ')}`);
      });
    });
  models
    .command('list')
    .option('--home <dir>')
    .action(async (opts: { home?: string }) => {
      await withApp(opts, async (app) => {
        for (const m of await app.services.models.list()) console.log(`${m.name}@${m.version.slice(0, 12)}\t${m.dir}`);
      });
    });
}
