/**
 * Jobs name their owner and keep a heartbeat, so a process fails only the orphans of stopped processes, never a live
 * job of another server sharing the database (both backends).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JobService } from '../../src/services/job.service.ts';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

const ago = (ms: number) => new Date(Date.now() - ms);

describe(`jobs on ${TEST_BACKEND}`, () => {
  test('a running job carries its owner and a heartbeat that advances without progress', async () => {
    const jobs = new JobService(app.repos.jobs, { owner: 'server-a', heartbeatMs: 40 });
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const job = await jobs.start('index.rebuild', {}, async () => {
      await gate;
      return {};
    });
    expect(job).toMatchObject({ owner: 'server-a' });
    await new Promise((r) => setTimeout(r, 60)); // the job is RUNNING by now
    const first = (await jobs.get(job.id)).heartbeatAt!.getTime();
    await new Promise((r) => setTimeout(r, 200));
    const running = await jobs.get(job.id);
    expect(running.state).toBe('RUNNING');
    expect(running.heartbeatAt!.getTime()).toBeGreaterThan(first);
    finish();
    expect((await jobs.wait(job.id)).state).toBe('SUCCEEDED');
  });

  test('recovery fails stale jobs of other processes and keeps live ones; exclusive recovery fails all', async () => {
    const p = app.db.prisma;
    const dead = await p.job.create({ data: { kind: 'x', state: 'RUNNING', owner: 'dead', heartbeatAt: ago(10 * 60_000) } });
    const legacy = await p.job.create({ data: { kind: 'x', state: 'QUEUED', createdAt: ago(10 * 60_000) } }); // no heartbeat
    const alive = await p.job.create({ data: { kind: 'x', state: 'RUNNING', owner: 'other', heartbeatAt: new Date() } });
    const done = await p.job.create({ data: { kind: 'x', state: 'SUCCEEDED', owner: 'dead', heartbeatAt: ago(10 * 60_000) } });
    const jobs = new JobService(app.repos.jobs, { owner: 'server-b' });
    expect(await jobs.recover(false)).toBe(2);
    expect((await jobs.get(dead.id)).state).toBe('FAILED');
    expect((await jobs.get(dead.id)).error).toMatch(/^interrupted/);
    expect((await jobs.get(legacy.id)).state).toBe('FAILED');
    expect((await jobs.get(alive.id)).state).toBe('RUNNING');
    expect((await jobs.get(done.id)).state).toBe('SUCCEEDED');
    expect(await jobs.recover(true)).toBe(1);
    expect((await jobs.get(alive.id)).state).toBe('FAILED');
  });

  test('reading a job whose owner stopped beating marks it FAILED', async () => {
    const orphan = await app.db.prisma.job.create({ data: { kind: 'x', state: 'RUNNING', owner: 'gone', heartbeatAt: ago(5 * 60_000) } });
    const jobs = new JobService(app.repos.jobs, { owner: 'server-c' });
    expect(await jobs.get(orphan.id)).toMatchObject({ state: 'FAILED', error: expect.stringMatching(/^interrupted/) });
  });
});
