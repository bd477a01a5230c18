/**
 * Queued jobs through GraphQL (docs/adr/0023): `cancelJob` stops a running job at its next progress report, `job(id)`
 * shows it CANCELLED with its attempts; the cancellation is in the audit trail; a job that cannot be cancelled or does
 * not exist is a typed error.
 */
import type { ApolloServer } from '@apollo/server';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { type Context, createContext } from '../../src/server/context.ts';
import { createApolloServer } from '../../src/server/server.ts';
import type { Principal } from '../../src/services/auth.ts';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { principalFor } from '../helpers/auth.ts';

let app: TestApp;
let server: ApolloServer<Context>;
let admin: Principal;

beforeAll(async () => {
  app = await createTestApp();
  server = await createApolloServer();
  admin = await principalFor(app);
});
afterAll(async () => {
  await server?.stop();
  await app?.close();
});

async function run(query: string, variables: Record<string, unknown> = {}) {
  const res = await server.executeOperation({ query, variables }, { contextValue: createContext(app, 'http://test', admin) });
  if (res.body.kind !== 'single') throw new Error('expected a single result');
  return res.body.singleResult as { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

const JOB = 'query($id: ID!) { job(id: $id) { id state attempts maxAttempts error done total finishedAt } }';
const CANCEL = 'mutation($id: ID!) { cancelJob(id: $id) { id state attempts maxAttempts } }';

describe(`cancelJob on ${TEST_BACKEND}`, () => {
  test('a running queued job stops at its next progress report and reads CANCELLED, with its attempts; audited', async () => {
    // a tiling-kind job that runs until it is stopped (no whole-slide image is needed to exercise the queue)
    let reports = 0;
    app.services.jobs.handle('slide.tile', async (_params, progress) => {
      for (;;) {
        progress.report(++reports, 1_000_000);
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    const job = await app.services.jobs.enqueue('slide.tile', { imageId: 0 });
    const id = toGlobalId('Job', job.id);
    while (reports < 3) await new Promise((r) => setTimeout(r, 5));

    const cancelled = await run(CANCEL, { id });
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelJob).toMatchObject({ id, attempts: 1, maxAttempts: 3 });
    const ended = await app.services.jobs.wait(job.id);
    expect(ended.state).toBe('CANCELLED');
    const read = (await run(JOB, { id })).data!.job;
    expect(read).toMatchObject({ id, state: 'CANCELLED', attempts: 1, maxAttempts: 3, error: 'cancelled', finishedAt: expect.any(String) });
    expect(read.done).toBeGreaterThanOrEqual(0);
    const stoppedAt = reports;
    await new Promise((r) => setTimeout(r, 50));
    expect(reports).toBe(stoppedAt); // it no longer runs

    // again: the ended job as it is
    expect((await run(CANCEL, { id })).data!.cancelJob).toMatchObject({ id, state: 'CANCELLED' });
    const events = await app.services.audit.forTargets('Job', [job.id]);
    expect(events.map((e) => e.action)).toEqual(['cancelJob', 'cancelJob']);
  });

  test('a job that is not queued (run as part of its process) is BAD_USER_INPUT; an unknown one NOT_FOUND', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const closure = await app.services.jobs.start('index.rebuild', {}, async () => (await gate, {}));
    const refused = await run(CANCEL, { id: toGlobalId('Job', closure.id) });
    expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors![0].message).toMatch(/queued job/);
    release();
    expect((await app.services.jobs.wait(closure.id)).state).toBe('SUCCEEDED');
    const missing = await run(CANCEL, { id: toGlobalId('Job', 99_999) });
    expect(missing.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
  });
});
