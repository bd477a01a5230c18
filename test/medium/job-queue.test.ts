/**
 * Queued jobs (docs/adr/0023) through the in-process queue, on both backends' rows: a kind's handler runs from its
 * JSON params; a failed attempt is retried after a backoff and its error shown meanwhile; the last failure is the dead
 * letter; cancellation of a waiting and of a running job; shutdown hands a running job back. (graphile-worker on a
 * Postgres server, with worker processes and kill -9: worker.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Job } from '../../src/db/generated/client.ts';
import { InProcessQueue } from '../../src/services/job-queue.ts';
import { jobFinished, JobService, MAX_ATTEMPTS } from '../../src/services/job.service.ts';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

/** A job service of its own on the test database, with retries after `retryMs` rather than seconds. */
function service(opts: { retryMs?: number; work?: boolean } = {}) {
  const queue = new InProcessQueue(() => opts.retryMs ?? 20);
  const jobs = new JobService(app.repos.jobs, { queue, heartbeatMs: 50 });
  return { jobs, queue, start: () => jobs.work(Infinity) };
}

/** Every row a service writes for job `id`, in order. */
function rowsOf(jobs: JobService, id: () => number | undefined): Job[] {
  const rows: Job[] = [];
  jobs.changes.on('job', (j) => {
    if (j.id === id()) rows.push(j);
  });
  return rows;
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`queued jobs on ${TEST_BACKEND}`, () => {
  test('a kind runs from its params through its handler; progress reaches the row and the caller; one attempt', async () => {
    const { jobs, start } = service();
    await start();
    jobs.handle('index.rebuild', async (params, progress) => {
      for (let i = 1; i <= 3; i++) progress.report(i, 3);
      return { twice: (params.n as number) * 2 };
    });
    const seen: number[] = [];
    const job = await jobs.enqueue('index.rebuild', { n: 21 }, (done) => seen.push(done));
    expect(job).toMatchObject({ state: 'QUEUED', queued: true, attempts: 0, maxAttempts: MAX_ATTEMPTS['index.rebuild'] });
    const done = await jobs.wait(job.id);
    expect(done).toMatchObject({ state: 'SUCCEEDED', result: { twice: 42 }, done: 3, total: 3, attempts: 1, error: null });
    expect(seen).toEqual([1, 2, 3]);
    await jobs.stop(0);
  });

  test('a failed attempt is retried after the backoff, its error shown while it waits; success clears it', async () => {
    const { jobs, start } = service({ retryMs: 1_000 });
    await start();
    let calls = 0;
    jobs.handle('slide.tile', async () => {
      calls++;
      if (calls === 1) throw new Error('disk full');
      return { ok: true };
    });
    let id: number | undefined;
    const rows = rowsOf(jobs, () => id);
    const job = await jobs.enqueue('slide.tile', {});
    id = job.id;
    // the first attempt fails at once; the retry waits for its second
    while (!rows.some((r) => r.state === 'QUEUED')) await tick(10);
    expect(await jobs.get(job.id)).toMatchObject({ state: 'QUEUED', attempts: 1, error: expect.stringMatching(/^attempt 1 of 3: disk full/) });
    expect(calls).toBe(1);
    expect(await jobs.wait(job.id)).toMatchObject({ state: 'SUCCEEDED', attempts: 2, error: null, result: { ok: true } });
    expect(calls).toBe(2);
    expect(rows.map((r) => r.state)).toEqual(['RUNNING', 'QUEUED', 'RUNNING', 'SUCCEEDED']);
    await jobs.stop(0);
  });

  test('the last failed attempt is the dead letter: FAILED with its error, attempts = maxAttempts, not run again', async () => {
    const { jobs, start } = service();
    await start();
    let calls = 0;
    jobs.handle('index.rebuild', async () => {
      calls++;
      throw new Error(`broken ${calls}`);
    });
    const job = await jobs.enqueue('index.rebuild', {});
    const dead = await jobs.wait(job.id);
    expect(dead).toMatchObject({ state: 'FAILED', error: 'broken 3', attempts: 3, maxAttempts: 3, finishedAt: expect.any(Date) });
    await tick(100);
    expect(calls).toBe(3);
    // one attempt for a vocabulary build (it starts over; a person looks at a failure)
    jobs.handle('vocabulary.build', async () => {
      throw new Error('no descriptors');
    });
    const build = await jobs.enqueue('vocabulary.build', {});
    expect(await jobs.wait(build.id)).toMatchObject({ state: 'FAILED', error: 'no descriptors', attempts: 1, maxAttempts: 1 });
    await jobs.stop(0);
  });

  test('cancel: a waiting job at once, a running one at its next progress report; an ended one stays as it is', async () => {
    const { jobs, start } = service();
    let reports = 0;
    jobs.handle('index.rebuild', async (_params, progress) => {
      for (let i = 0; i < 1000; i++) {
        progress.report(i, 1000);
        reports++;
        await tick(5);
      }
      return {};
    });
    // not working yet: the job waits
    const waiting = await jobs.enqueue('index.rebuild', {});
    expect(await jobs.cancel(waiting.id)).toMatchObject({ state: 'CANCELLED', finishedAt: expect.any(Date) });
    await start();
    const running = await jobs.enqueue('index.rebuild', {});
    while (reports < 3) await tick(5);
    await jobs.cancel(running.id);
    const ended = await jobs.wait(running.id);
    expect(ended).toMatchObject({ state: 'CANCELLED', error: 'cancelled' });
    expect(reports).toBeLessThan(1000);
    expect(jobFinished(ended)).toBe(true);
    // the cancelled waiting job never ran
    expect(await jobs.get(waiting.id)).toMatchObject({ state: 'CANCELLED', attempts: 0, startedAt: null });
    expect(await jobs.cancel(running.id)).toMatchObject({ state: 'CANCELLED' });
    // a closure job (start) is not queued: it cannot be cancelled
    const closure = await jobs.start('slide.tile', {}, () => tick(200).then(() => ({})));
    await expect(jobs.cancel(closure.id)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/queued job/) });
    await jobs.stop(0);
  });

  test('stopping: a running attempt finishes within the grace; past it, it is handed back (QUEUED, attempt counted)', async () => {
    const quick = service();
    await quick.start();
    quick.jobs.handle('index.rebuild', async (_p, progress) => {
      await tick(100);
      progress.report(1, 1);
      return { finished: true };
    });
    const a = await quick.jobs.enqueue('index.rebuild', {});
    await tick(20);
    await quick.jobs.stop(5_000);
    expect(await quick.jobs.get(a.id)).toMatchObject({ state: 'SUCCEEDED', result: { finished: true } });

    const slow = service();
    await slow.start();
    slow.jobs.handle('index.rebuild', async (_p, progress) => {
      for (let i = 0; ; i++) {
        progress.report(i);
        await tick(10);
      }
    });
    const b = await slow.jobs.enqueue('index.rebuild', {});
    await tick(50);
    await slow.jobs.stop(50);
    const handedBack = await slow.jobs.get(b.id);
    expect(handedBack).toMatchObject({ state: 'QUEUED', attempts: 1, owner: null, error: expect.stringMatching(/handed back/) });
    // what the next process on the embedded database does with it: the queue died with the last one
    expect(await slow.jobs.recover(true)).toBeGreaterThanOrEqual(1);
    expect((await slow.jobs.get(b.id)).state).toBe('FAILED');
  });
});
