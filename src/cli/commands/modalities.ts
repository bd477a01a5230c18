import type { Command } from 'commander';
import { toGlobalId } from '../../ids.ts';
import { withApp } from '../app.ts';
import { printList } from '../output.ts';

export function registerModalities(program: Command): void {
  program
    .command('modalities')
    .description('list modalities: channels, normalisation, CoMIR model, image count')
    .option('--json', 'print a JSON array')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { json?: boolean; home?: string }) => {
      const rows = await withApp(opts, async (app) => {
        const modalities = await app.services.modalities.list();
        const ids = modalities.map((m) => m.id);
        // the same reads as GraphQL's Modality.imageCount and Modality.comirModel (src/server/context.ts loaders)
        const [counts, models] = await Promise.all([app.repos.images.countByModality(ids), app.repos.modalities.modelNames(ids)]);
        return modalities.map((m) => ({
          id: toGlobalId('Modality', m.id),
          name: m.name,
          channels: m.channels,
          normalization: m.normalization,
          comirModel: models.get(m.id) ?? null,
          imageCount: counts.get(m.id) ?? 0,
        }));
      });
      printList(rows, {
        json: opts.json,
        header: ['name', 'images', 'channels', 'normalization', 'CoMIR model', 'id'],
        row: (m) => [m.name, m.imageCount, m.channels, m.normalization, m.comirModel, m.id],
        empty: 'no modalities yet: `cmir ingest FILES --modality NAME` creates one',
      });
    });
}
