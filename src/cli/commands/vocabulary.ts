import type { Command } from 'commander';
import { AppError } from '../../errors.ts';
import { toGlobalId } from '../../ids.ts';
import { withApp } from '../app.ts';
import { waitForRemoteJob, withAppOrServer } from '../remote.ts';
import { printList, progressBar } from '../output.ts';

export function registerVocabulary(program: Command): void {
  const vocabulary = program.command('vocabulary').description('visual vocabularies (stage II)');
  vocabulary
    .command('build')
    .description("build a vocabulary from a modality's images and index them with it")
    .requiredOption('--modality <name>', 'the repository modality')
    .option('--size <n>', 'words (default 20000, capped at the descriptor count)')
    .option('--seed <n>', 'random seed', '1')
    .option('--oriented', 'rotation-invariant SURF instead of upright')
    .option('--json', 'print the finished job as JSON')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { modality: string; size?: string; seed: string; oriented?: boolean; json?: boolean; home?: string }) => {
      const params = { size: opts.size === undefined ? undefined : Number(opts.size), seed: Number(opts.seed), oriented: opts.oriented };
      const bar = progressBar(1, `vocabulary ${opts.modality}`, !opts.json);
      // on the home, or through the server that holds its embedded database (CMIR_KEY)
      const finished = await withAppOrServer(
        opts,
        async (app) => {
          const job = await app.services.vocabularies.build(opts.modality, params, (done, total) => bar.update(done, total));
          const row = await app.services.jobs.wait(job.id);
          return { ...row, id: toGlobalId('Job', row.id), startedAt: row.startedAt?.toISOString() ?? null, finishedAt: row.finishedAt?.toISOString() ?? null };
        },
        async (server) => {
          const { buildVocabulary } = await server.request<{ buildVocabulary: { id: string } }>(
            'mutation ($input: BuildVocabularyInput!) { buildVocabulary(input: $input) { id } }',
            { input: { modality: opts.modality, ...params } },
          );
          return waitForRemoteJob(server, buildVocabulary.id, (done, total) => bar.update(done, total));
        },
      );
      bar.stop();
      if (finished.state === 'FAILED') throw new AppError('BAD_USER_INPUT', `vocabulary build failed: ${finished.error}`);
      const out = { job: finished.id, state: finished.state, ...(finished.result as object) };
      if (opts.json) console.log(JSON.stringify(out, null, 2));
      else console.log(`vocabulary built: ${JSON.stringify(finished.result)} in ${(Date.parse(finished.finishedAt!) - Date.parse(finished.startedAt!)) / 1000} s`);
    });
  vocabulary
    .command('list')
    .description("list vocabularies: space, words, state, created")
    .option('--modality <name>', "only this modality's")
    .option('--json', 'print a JSON array')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { modality?: string; json?: boolean; home?: string }) => {
      const rows = (await withApp(opts, (app) => app.services.vocabularies.list(opts.modality))).map((v) => ({
        id: toGlobalId('Vocabulary', v.id),
        space: v.space,
        size: v.size,
        state: v.state,
        createdAt: v.createdAt.toISOString(),
      }));
      printList(rows, {
        json: opts.json,
        header: ['id', 'space', 'words', 'state', 'created'],
        row: (v) => [v.id, v.space, v.size, v.state, v.createdAt],
        empty: opts.modality ? `no vocabularies for ${opts.modality}` : 'no vocabularies (`cmir vocabulary build --modality NAME` builds one)',
      });
    });
}
