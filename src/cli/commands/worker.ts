import type { Command } from 'commander';
import { createApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { AppError, invalidParameter } from '../../errors.ts';

/** `--concurrency`: a positive integer. */
export function parseConcurrency(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw invalidParameter('--concurrency', 'a positive integer', value);
  return n;
}

/**
 * How many jobs a worker runs at once unless told: 1. A job's heavy steps (CoMIR, window vectors) already run on
 * CMIR_PIPELINE_THREADS worker threads (docs/adr/0020); more workers, or more processes, are how a lab scales out.
 */
export const DEFAULT_WORKER_CONCURRENCY = 1;

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run queued jobs (vocabulary builds, reindexing, slide tiling) from the Postgres at DATABASE_URL; serves no API')
    .option('--concurrency <n>', `jobs at once (default ${DEFAULT_WORKER_CONCURRENCY})`)
    .option('--home <dir>', 'data folder: its file store must be the one the servers use (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { concurrency?: string; home?: string }) => {
      const concurrency = parseConcurrency(opts.concurrency, DEFAULT_WORKER_CONCURRENCY);
      const config = loadConfig({ home: opts.home });
      if (!config.databaseUrl) {
        throw new AppError(
          'BAD_USER_INPUT',
          'cmir worker needs a Postgres server (DATABASE_URL): the embedded database belongs to one process, and `cmir serve` runs its jobs',
        );
      }
      const app = await createApp(config);
      // SIGTERM: take no more jobs; running ones finish within CMIR_SHUTDOWN_GRACE_S, then are handed back
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        console.log('cmir worker stopping: running jobs finish or are handed back');
        await app.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      await app.services.jobs.work(concurrency);
      console.log(`cmir worker ${app.services.jobs.owner} running jobs from the Postgres at DATABASE_URL, ${concurrency} at a time`);
    });
}
