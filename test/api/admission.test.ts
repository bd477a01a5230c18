import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createKey } from '../helpers/auth.ts';
import { makeImage } from '../helpers/images.ts';

/** Issue 19 part 3, docs/adr/0024: per-key rates on searches and uploads, answered over HTTP as clients expect. */

let app: TestApp;
let server: RunningServer;
let curator = '';
let otherKey = '';
let queryId = '';

beforeAll(async () => {
  app = await createTestApp({ admission: { searchesPerMinute: 2, uploadsPerMinute: 1, searchConcurrency: 2, searchQueue: 4 } });
  server = await startServer(app, 0, '127.0.0.1');
  curator = await createKey(app, 'curator');
  otherKey = await createKey(app, 'reader');
  const acq = await app.services.images.ingest({ data: await makeImage({ seed: 9 }), fileName: 'acq.png', modality: 'SHG' });
  queryId = toGlobalId('Image', acq.id);
  for (const seed of [1, 2]) await app.services.images.ingest({ data: await makeImage({ seed }), fileName: `bf${seed}.png`, modality: 'BF' });
});
afterAll(async () => {
  await server?.stop();
  await app?.close();
});

const SEARCH = 'query($id: ID!) { search(input: { imageId: $id, target: "BF", first: 2 }) { matches { rank } } }';

async function post(key: string, body: BodyInit, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(server.url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${key}`, 'apollo-require-preflight': 'true' }, body });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}
const search = (key: string) => post(key, JSON.stringify({ query: SEARCH, variables: { id: queryId } }));

describe('admission over HTTP', () => {
  test('the third search a minute from one key answers 429, Retry-After and RATE_LIMITED; another key still searches', async () => {
    for (let i = 0; i < 2; i++) {
      const ok = await search(curator);
      expect(ok.status).toBe(200);
      expect(ok.body.errors).toBeUndefined();
      expect(ok.body.data.search.matches.length).toBe(2);
    }
    const refused = await search(curator);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused.body.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(refused.body.errors?.[0].extensions?.retryAfterSeconds).toBe(Number(refused.retryAfter));
    expect(refused.body.errors?.[0].message).toMatch(/more than 2 searches a minute from this API key/);
    expect(refused.body.errors?.[0].extensions).not.toHaveProperty('http');
    const other = await search(otherKey);
    expect(other.status).toBe(200);
    expect(other.body.data.search.matches.length).toBe(2);
  });

  test('an upload over the key\'s rate is refused before anything is stored', async () => {
    const upload = async (seed: number) => {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query: 'mutation($f: Upload!) { ingestImage(input: { file: $f, modality: "BF" }) { id } }', variables: { f: null } }));
      form.append('map', JSON.stringify({ 0: ['variables.f'] }));
      form.append('0', new Blob([new Uint8Array(await makeImage({ seed }))], { type: 'image/png' }), `u${seed}.png`);
      return post(curator, form, {});
    };
    const before = await app.db.prisma.image.count();
    const first = await upload(21);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.ingestImage.id).toBeTruthy();
    const second = await upload(22);
    expect(second.status).toBe(429);
    expect(second.body.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(await app.db.prisma.image.count()).toBe(before + 1);
  });
});
