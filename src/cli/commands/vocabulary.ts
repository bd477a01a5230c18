import type { Command } from 'commander';
import { AppError } from '../../errors.ts';
import { toGlobalId } from '../../ids.ts';
import { withApp } from '../app.ts';
import { progressBar } from '../output.ts';

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
      await withApp(opts, async (app) => {
        const bar = progressBar(1, `vocabulary ${opts.modality}`, !opts.json);
        const job = await app.services.vocabularies.build(
          opts.modality,
          { size: opts.size === undefined ? undefined : Number(opts.size), seed: Number(opts.seed), oriented: opts.oriented },
          (done, total) => bar.update(done, total),
        );
        const finished = await app.services.jobs.wait(job.id);
        bar.stop();
        if (finished.state === 'FAILED') throw new AppError('BAD_USER_INPUT', `vocabulary build failed: ${finished.error}`);
        const out = { job: toGlobalId('Job', finished.id), state: finished.state, ...(finished.result as object) };
        if (opts.json) console.log(JSON.stringify(out, null, 2));
        else console.log(`vocabulary built: ${JSON.stringify(finished.result)} in ${(+finished.finishedAt! - +finished.startedAt!) / 1000} s`);
      });
    });
  vocabulary
    .command('list')
    .option('--modality <name>')
    .option('--home <dir>')
    .action(async (opts: { modality?: string; home?: string }) => {
      await withApp(opts, async (app) => {
        for (const v of await app.services.vocabularies.list(opts.modality)) {
          console.log(`${toGlobalId('Vocabulary', v.id)}\t${v.space}\t${v.size} words\t${v.state}\t${v.createdAt.toISOString()}`);
        }
      });
    });
}
