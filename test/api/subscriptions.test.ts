/**
 * Issue 23 item 2: job progress and new links pushed live, as GraphQL subscriptions over WebSocket (graphql-ws) on the
 * server's /graphql, with the same keys as HTTP.
 */
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { toGlobalId } from '../../src/ids.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { cliActor } from '../../src/services/auth.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createKey } from '../helpers/auth.ts';
import { makeImage } from '../helpers/images.ts';

let app: TestApp;
let server: RunningServer;
let key: string;
const clients: Client[] = [];

beforeAll(async () => {
  app = await createTestApp();
  // loopback: anonymous reads allowed (CMIR_ANONYMOUS unset), as over HTTP
  server = await startServer(app, 0, '127.0.0.1');
  key = await createKey(app, 'reader');
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await app?.services.jobs.drain();
  await server?.stop();
  await app?.close();
});

function client(connectionParams?: Record<string, unknown>): Client {
  const c = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
  clients.push(c);
  return c;
}

type Result = { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('subscriptions over WebSocket', () => {
  test('jobUpdated(id): the job now, each progress write, then SUCCEEDED, and the subscription ends', { timeout: 30_000 }, async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    // progress 1/4 ... 4/4, 300 ms apart: over the 250 ms between progress writes (job.service.ts), so each is written
    const job = await app.services.jobs.start('index.rebuild', {}, async (p) => {
      await gate;
      for (let i = 1; i <= 4; i++) {
        await sleep(300);
        p.report(i, 4);
      }
      return { indexed: 4 };
    });
    const seen: { state: string; done: number; total: number; progress: number }[] = [];
    const events = client({ authorization: `Bearer ${key}` }).iterate<any>({
      query: 'subscription($id: ID!) { jobUpdated(id: $id) { id state done total progress } }',
      variables: { id: toGlobalId('Job', job.id) },
    });
    for await (const r of events as AsyncIterable<Result>) {
      expect(r.errors).toBeUndefined();
      expect(r.data.jobUpdated.id).toBe(toGlobalId('Job', job.id));
      const { state, done, total, progress } = r.data.jobUpdated;
      seen.push({ state, done, total, progress });
      if (seen.length === 1) open();
    }
    // ended by the server after SUCCEEDED
    expect(seen[0].state).toMatch(/QUEUED|RUNNING/);
    expect(seen.at(-1)).toEqual({ state: 'SUCCEEDED', done: 4, total: 4, progress: 1 });
    const running = seen.filter((s) => s.state === 'RUNNING' && s.total === 4).map((s) => s.done);
    expect(running).toEqual([1, 2, 3, 4]);
    expect(app.services.jobs.changes.listenerCount('job')).toBe(0);
  });

  test('jobUpdated of a finished job sends it once and ends; of an unknown id, NOT_FOUND naming that id', async () => {
    const job = await app.services.jobs.start('slide.tile', {}, async () => ({}));
    await app.services.jobs.wait(job.id);
    const c = client();
    const got: Result[] = [];
    for await (const r of c.iterate<any>({ query: 'subscription($id: ID!) { jobUpdated(id: $id) { state } }', variables: { id: toGlobalId('Job', job.id) } }) as AsyncIterable<Result>) got.push(r);
    expect(got).toEqual([{ data: { jobUpdated: { state: 'SUCCEEDED' } } }]);
    const missing = toGlobalId('Job', 424_242);
    const errors: Result[] = [];
    for await (const r of c.iterate<any>({ query: 'subscription($id: ID!) { jobUpdated(id: $id) { state } }', variables: { id: missing } }) as AsyncIterable<Result>) errors.push(r);
    expect(errors.map((r) => r.errors?.map((e) => [e.extensions?.code, e.message]))).toEqual([[['NOT_FOUND', `Job "${missing}" does not exist`]]]);
  });

  test('linkCreated(filter: { slide }): only new links onto that slide; a link asked for again is not pushed', { timeout: 30_000 }, async () => {
    const ingest = async (seed: number, slide?: string) => app.services.images.ingest({ data: await makeImage({ seed }), fileName: `i${seed}.png`, modality: 'BF', slide });
    const [source, onS1, onS2] = [await ingest(1), await ingest(2, 'S-1'), await ingest(3, 'S-2')];
    const events = client({ 'x-api-key': key }).iterate<any>({
      query: 'subscription($slide: ID!) { linkCreated(filter: { slide: $slide }) { id source { id } target { id } status } }',
      variables: { slide: toGlobalId('Slide', onS1.slideId!) },
    });
    const next = events.next();
    // the subscription is live once the server listens for new links
    while (app.services.links.created.listenerCount('link') === 0) await sleep(20);
    const first = await app.services.links.link({ sourceId: source.id, targetId: onS1.id }, cliActor());
    await app.services.links.link({ sourceId: source.id, targetId: onS2.id }, cliActor()); // another slide
    await app.services.links.link({ sourceId: source.id, targetId: onS1.id }, cliActor()); // the same link again
    const second = await app.services.links.link({ sourceId: source.id, targetId: onS1.id, region: { x: 1, y: 1, width: 5, height: 5 } }, cliActor());
    const pushed = [((await next).value as Result).data.linkCreated, ((await events.next()).value as Result).data.linkCreated];
    expect(pushed).toEqual([
      { id: toGlobalId('Link', first.id), source: { id: toGlobalId('Image', source.id) }, target: { id: toGlobalId('Image', onS1.id) }, status: 'PROPOSED' },
      { id: toGlobalId('Link', second.id), source: { id: toGlobalId('Image', source.id) }, target: { id: toGlobalId('Image', onS1.id) }, status: 'PROPOSED' },
    ]);
    // unsubscribing removes the server's listener (watch.ts), without waiting for another link
    await events.return?.();
    for (let i = 0; i < 100 && app.services.links.created.listenerCount('link') > 0; i++) await sleep(20);
    expect(app.services.links.created.listenerCount('link')).toBe(0);
  });

  test('a page of another origin is refused (4403), one of this server\'s origin is served', async () => {
    const from = (origin: string) =>
      class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { origin });
        }
      };
    const job = await app.services.jobs.start('slide.tile', {}, async () => ({}));
    await app.services.jobs.wait(job.id);
    const query = { query: 'subscription($id: ID!) { jobUpdated(id: $id) { state } }', variables: { id: toGlobalId('Job', job.id) } };
    const foreign = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: from('https://evil.example'), retryAttempts: 0, lazy: true });
    clients.push(foreign);
    await expect(foreign.iterate(query).next()).rejects.toMatchObject({ code: 4403 });
    const own = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: from(new URL(server.url).origin), retryAttempts: 0, lazy: true });
    clients.push(own);
    expect((await own.iterate(query).next()).value).toEqual({ data: { jobUpdated: { state: 'SUCCEEDED' } } });
  });

  test('a bad key is refused when connecting (4403); a query over WebSocket is BAD_REQUEST', async () => {
    const bad = client({ authorization: 'Bearer cmir_not-a-key' }).iterate({ query: 'subscription { jobUpdated { id } }' });
    await expect(bad.next()).rejects.toMatchObject({ code: 4403 });
    const query = client().iterate({ query: '{ linkCounts { total } }' });
    await expect(query.next()).rejects.toEqual([
      { message: 'only subscriptions are served over WebSocket: send queries and mutations over HTTP', extensions: { code: 'BAD_REQUEST' } },
    ]);
  });
});
