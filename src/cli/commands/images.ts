import type { Command } from 'commander';
import { toGlobalId } from '../../ids.ts';
import { withApp } from '../app.ts';
import { printList } from '../output.ts';

export function registerImages(program: Command): void {
  program
    .command('images')
    .description('list stored images')
    .option('--modality <name>', 'only this modality')
    .option('--json', 'print a JSON array')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { modality?: string; json?: boolean; home?: string }) => {
      const rows = await withApp(opts, async (app) => {
        const modalities = new Map((await app.services.modalities.list()).map((m) => [m.id, m.name]));
        const out = [];
        let after: string | null = null;
        for (;;) {
          const page = await app.services.images.list({ modality: opts.modality }, { first: 500, after });
          out.push(...page.edges.map((e) => e.node));
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
        }
        const comirs = await app.services.images.comirVersions(out.map((i) => i.id));
        return out.map((i) => ({
          id: toGlobalId('Image', i.id),
          name: i.name,
          modality: modalities.get(i.modalityId) ?? null,
          width: i.width,
          height: i.height,
          channels: i.channels,
          bitDepth: i.bitDepth,
          format: i.format,
          sha256: i.sha256,
          comir: comirs.get(i.id) ?? null,
        }));
      });
      printList(rows, {
        json: opts.json,
        header: ['id', 'modality', 'name', 'size', 'format'],
        row: (r) => [r.id, r.modality, r.name, `${r.width}x${r.height}x${r.channels}`, `${r.bitDepth}-bit ${r.format}`],
        empty: opts.modality ? `no images of modality ${opts.modality}` : 'no images yet: `cmir ingest FILES --modality NAME` stores some',
      });
    });
}
