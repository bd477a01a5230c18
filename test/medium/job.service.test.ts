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
  test('recent: by state and kind, newest first; a stopped process\'s RUNNING job is listed FAILED, a live one RUNNING with its progress', async () => {
    const p = app.db.prisma;
    const live = await p.job.create({ data: { kind: 'list.a', state: 'RUNNING', done: 7, total: 20, owner: 'other', heartbeatAt: new Date() } });
    const stale = await p.job.create({ data: { kind: 'list.a', state: 'RUNNING', done: 2, total: 20, owner: 'gone', heartbeatAt: ago(10 * 60_000) } });
    const ok = await p.job.create({ data: { kind: 'list.a', state: 'SUCCEEDED', done: 20, total: 20, owner: 'other', heartbeatAt: new Date() } });
    await p.job.create({ data: { kind: 'list.b', state: 'FAILED', owner: 'other', heartbeatAt: new Date() } });
    const jobs = new JobService(app.repos.jobs, { owner: 'server-c' });

    const all = await jobs.recent({ kind: 'list.a' });
    expect(all.map((j) => [j.id, j.state, j.done, j.total])).toEqual([
      [ok.id, 'SUCCEEDED', 20, 20],
      [stale.id, 'FAILED', 2, 20],
      [live.id, 'RUNNING', 7, 20],
    ]);
    // the stale job no longer counts as running: it was failed before the state filter applied
    expect((await jobs.recent({ kind: 'list.a', states: ['RUNNING'] })).map((j) => j.id)).toEqual([live.id]);
    expect((await jobs.recent({ kind: 'list.a', states: ['FAILED'] })).map((j) => j.id)).toEqual([stale.id]);
    expect((await jobs.recent({ states: ['FAILED'] }, 1000)).filter((j) => j.kind.startsWith('list.')).map((j) => j.kind)).toEqual(['list.b', 'list.a']);
    expect(await jobs.recent({ kind: 'list.a' }, 2)).toHaveLength(2);
    await expect(jobs.recent({}, 0)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(jobs.recent({ states: ['DONE' as never] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('QUEUED, RUNNING, SUCCEEDED, FAILED') });
  });
});
