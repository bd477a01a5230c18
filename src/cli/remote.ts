import type { App } from '../app.ts';
import type { Job } from '../db/generated/client.ts';
import { AppError, type ErrorCode, isAppError } from '../errors.ts';
import { type GlobalOptions, withApp } from './app.ts';

/** A running cmir server's GraphQL API, called with an API key. */
export interface Server {
  readonly url: string;
  request<T>(query: string, variables: Record<string, unknown>): Promise<T>;
}

/** Tries of a request the server refused for load (RATE_LIMITED, SERVER_BUSY), each after its Retry-After. */
const RETRIES = 3;

function graphql(url: string, key: string): Server {
  return {
    url,
    async request<T>(query: string, variables: Record<string, unknown>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string; retryAfterSeconds?: number } }[] };
        const error = body.errors?.[0];
        if (!error) return body.data as T;
        // over the key's rate or the server's room (docs/adr/0024): wait as the server says, a few times
        const wait = error.extensions?.retryAfterSeconds;
        if ((error.extensions?.code === 'RATE_LIMITED' || error.extensions?.code === 'SERVER_BUSY') && typeof wait === 'number' && attempt < RETRIES) {
          await new Promise((r) => setTimeout(r, Math.min(wait, 60) * 1000));
          continue;
        }
        // the server's code, as it sent it (one of ErrorCode, or Apollo's own such as GRAPHQL_VALIDATION_FAILED)
        throw new AppError((error.extensions?.code ?? 'BAD_REQUEST') as ErrorCode, `${url}: ${error.message}`);
      }
    },
  };
}

/**
 * Runs a command that changes data: on the home itself, or, when `cmir serve` holds its embedded database
 * (DATABASE_LOCKED naming the server), through that server's GraphQL API with the key in CMIR_KEY. Without a key the
 * lock error says to set one.
 */
export async function withAppOrServer<T>(opts: GlobalOptions, local: (app: App) => Promise<T>, remote: (server: Server) => Promise<T>): Promise<T> {
  try {
    return await withApp(opts, local);
  } catch (e) {
    if (!isAppError(e) || e.code !== 'DATABASE_LOCKED' || typeof e.details.server !== 'string') throw e;
    const key = process.env.CMIR_KEY;
    if (!key) {
      throw new AppError('DATABASE_LOCKED', `${e.message}. This command can also run through that server: set CMIR_KEY to an API key of it with the role the change needs`, e.details);
    }
    return remote(graphql(e.details.server, key));
  }
}

/** A job as the server's GraphQL API gives it (ids are API ids). */
export type RemoteJob = Pick<Job, 'state' | 'done' | 'total' | 'error' | 'result'> & { id: string; startedAt: string | null; finishedAt: string | null };

/** How often a job is polled: the server writes its progress at most every 250 ms (JobService, PROGRESS_INTERVAL_MS). */
const POLL_MS = 500;

/** Polls a job on the server until it has finished; `onProgress` sees each poll's done/total. */
export async function waitForRemoteJob(server: Server, id: string, onProgress: (done: number, total: number) => void): Promise<RemoteJob> {
  for (;;) {
    const { job } = await server.request<{ job: RemoteJob | null }>(
      'query ($id: ID!) { job(id: $id) { id state done total error result startedAt finishedAt } }',
      { id },
    );
    if (!job) throw new AppError('NOT_FOUND', `job ${id} is gone from ${server.url}`);
    onProgress(job.done, job.total);
    if (job.state === 'SUCCEEDED' || job.state === 'FAILED' || job.state === 'CANCELLED') return job;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
