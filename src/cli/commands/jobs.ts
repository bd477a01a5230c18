import type { Command } from 'commander';
import type { Job, JobState } from '../../db/generated/client.ts';
import { invalidParameter } from '../../errors.ts';
import { toGlobalId } from '../../ids.ts';
import { JOB_STATES } from '../../services/job.service.ts';
import { withApp } from '../app.ts';
import { printList } from '../output.ts';

/** What `cmir jobs` lists unless told otherwise: what is under way or went wrong. */
const DEFAULT_STATES: readonly JobState[] = ['QUEUED', 'RUNNING', 'FAILED'];

function jobJson(j: Job) {
  return {
    id: toGlobalId('Job', j.id),
    kind: j.kind,
    state: j.state,
    done: j.done,
    total: j.total,
    progress: j.total > 0 ? j.done / j.total : 0,
    error: j.error,
    createdAt: j.createdAt.toISOString(),
    startedAt: j.startedAt?.toISOString() ?? null,
    finishedAt: j.finishedAt?.toISOString() ?? null,
    owner: j.owner,
  };
}

function parseStates(value: string): JobState[] {
  return value.split(',').map((s) => {
    const state = s.trim().toUpperCase() as JobState;
    if (!JOB_STATES.includes(state)) throw invalidParameter('--state', `a comma-separated list of ${JOB_STATES.join(', ')}`, s);
    return state;
  });
}

export function registerJobs(program: Command): void {
  program
    .command('jobs')
    .description('list jobs (running and failed unless --all) with their progress')
    .option('--state <states>', `only jobs in these states, comma-separated (${JOB_STATES.join(', ')}; default ${DEFAULT_STATES.join(',')})`)
    .option('--all', 'jobs in every state')
    .option('--kind <kind>', 'only jobs of this kind (e.g. vocabulary, reindex)')
    .option('--limit <n>', 'at most this many, newest first', '100')
    .option('--json', 'print a JSON array')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { state?: string; all?: boolean; kind?: string; limit: string; json?: boolean; home?: string }) => {
      const states = opts.all ? undefined : opts.state ? parseStates(opts.state) : DEFAULT_STATES;
      const jobs = await withApp(opts, (app) => app.services.jobs.recent({ states, kind: opts.kind }, Number(opts.limit)));
      const rows = jobs.map(jobJson);
      printList(rows, {
        json: opts.json,
        header: ['id', 'kind', 'state', 'progress', 'started', 'finished', 'error'],
        row: (j) => [j.id, j.kind, j.state, `${j.done}/${j.total} (${Math.round(j.progress * 100)}%)`, j.startedAt, j.finishedAt, j.error],
        empty: states ? `no jobs in state ${states.join(', ')} (--all lists every job)` : 'no jobs',
      });
    });
}
