import type { Command } from 'commander';
import { AppError } from '../../errors.ts';
import { toGlobalId } from '../../ids.ts';
import { withApp } from '../app.ts';
import { progressBar } from '../output.ts';

export function registerReindex(program: Command): void {
  program
    .command('reindex')
    .description('bring the vector first stage up to date: vectors for every image that has none in its current space (resumable)')
    .option('--modality <name>', 'only this modality (default: every modality)')
    .option('--json', 'print the finished job as JSON')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { modality?: string; json?: boolean; home?: string }) => {
      await withApp(opts, async (app) => {
        const bar = progressBar(1, `reindex ${opts.modality ?? 'all'}`, !opts.json);
        const job = await app.services.embeddings.reindex(opts.modality ?? null, (done, total) => bar.update(done, total));
        const finished = await app.services.jobs.wait(job.id);
        bar.stop();
        if (finished.state === 'FAILED') throw new AppError('BAD_USER_INPUT', `reindex failed: ${finished.error}`);
        const out = { job: toGlobalId('Job', finished.id), state: finished.state, ...(finished.result as object) };
        if (opts.json) console.log(JSON.stringify(out, null, 2));
        else console.log(`reindexed: ${JSON.stringify(finished.result)} in ${(+finished.finishedAt! - +finished.startedAt!) / 1000} s`);
      });
    });
}
