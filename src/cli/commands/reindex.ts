import type { Command } from 'commander';
import { AppError } from '../../errors.ts';
import { toGlobalId } from '../../ids.ts';
import { waitForRemoteJob, withAppOrServer } from '../remote.ts';
import { progressBar } from '../output.ts';

export function registerReindex(program: Command): void {
  program
    .command('reindex')
    .description('bring the vector first stage up to date: vectors for every image that has none in its current space (resumable)')
    .option('--modality <name>', 'only this modality (default: every modality)')
    .option('--json', 'print the finished job as JSON')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { modality?: string; json?: boolean; home?: string }) => {
      const bar = progressBar(1, `reindex ${opts.modality ?? 'all'}`, !opts.json);
      // on the home, or through the server that holds its embedded database (CMIR_KEY)
      const finished = await withAppOrServer(
        opts,
        async (app) => {
          const job = await app.services.embeddings.reindex(opts.modality ?? null, (done, total) => bar.update(done, total));
          const row = await app.services.jobs.wait(job.id);
          return { ...row, id: toGlobalId('Job', row.id), startedAt: row.startedAt?.toISOString() ?? null, finishedAt: row.finishedAt?.toISOString() ?? null };
        },
        async (server) => {
          const { reindex } = await server.request<{ reindex: { id: string } }>('mutation ($input: ReindexInput) { reindex(input: $input) { id } }', {
            input: { modality: opts.modality ?? null },
          });
          return waitForRemoteJob(server, reindex.id, (done, total) => bar.update(done, total));
        },
      );
      bar.stop();
      if (finished.state === 'FAILED') throw new AppError('BAD_USER_INPUT', `reindex failed: ${finished.error}`);
      const out = { job: finished.id, state: finished.state, ...(finished.result as object) };
      if (opts.json) console.log(JSON.stringify(out, null, 2));
      else console.log(`reindexed: ${JSON.stringify(finished.result)} in ${(Date.parse(finished.finishedAt!) - Date.parse(finished.startedAt!)) / 1000} s`);
    });
}
