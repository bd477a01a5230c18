import type { ApolloServer } from '@apollo/server';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_QUERY_LIMITS, loadConfig } from '../../src/config.ts';
import { toGlobalId } from '../../src/ids.ts';
import { type Context, createContext } from '../../src/server/context.ts';
import { createApolloServer, type RunningServer, startServer } from '../../src/server/server.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { authHeaders, principalFor } from '../helpers/auth.ts';
import { makeImage } from '../helpers/images.ts';

/** Issue 19: one anonymous query must not take the server down; bodies it cannot read answer JSON, not HTML. */

let app: TestApp;
let server: RunningServer;
const ids: Record<string, string> = {};

beforeAll(async () => {
  app = await createTestApp();
  server = await startServer(app, 0, '127.0.0.1');
  const acq = await app.services.images.ingest({ data: await makeImage({ seed: 9 }), fileName: 'acq.png', modality: 'SHG' });
  ids.acq = toGlobalId('Image', acq.id);
  for (const seed of [1, 2, 3]) {
    const img = await app.services.images.ingest({ data: await makeImage({ seed }), fileName: `bf${seed}.png`, modality: 'BF', slide: 'S-1' });
    ids[`bf${seed}`] = toGlobalId('Image', img.id);
    if (seed === 2) await app.services.links.link({ sourceId: acq.id, targetId: img.id, region: { x: 0, y: 0, width: 32, height: 24 } }, { keyId: null, name: 'test' });
  }
});
afterAll(async () => {
  await server?.stop();
  await app?.close();
});

interface Result {
  status: number;
  text: string;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  ms: number;
}

async function post(query: string, variables: Record<string, unknown> = {}, url = server.url): Promise<Result> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text), ms: performance.now() - t0 };
}

/** `links { source { links { target { ... name } } } }`, `hops` links deep from an image (2 levels a hop). */
function linkChain(hops: number): string {
  let inner = 'name';
  for (let i = hops; i >= 1; i--) inner = `links { ${i % 2 ? 'source' : 'target'} { ${inner} } }`;
  return inner;
}

/** The attack: `links { source { ... } }` nested 200 deep under a page of 50 images. */
let deep = 'name';
for (let i = 0; i < 200; i++) deep = `links { source { ${deep} } }`;
const DEEP_200 = `{ images(first: 50) { edges { node { ${deep} } } } }`;
const ALIASES_1000 = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: images(first: 50) { edges { node { thumbnailUrl } } }`).join(' ')} }`;

function expectRefused(r: Result, limit?: string) {
  expect(r.status).toBe(400);
  expect(r.body.data).toBeUndefined();
  expect(r.body.errors).toHaveLength(1);
  expect(r.body.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', ...(limit ? { limit } : {}) });
}

describe('query limits (HTTP, default configuration)', () => {
  test('a 200-deep nested query is refused within 2 s, and the server answers a normal query afterwards', async () => {
    const r = await post(DEEP_200);
    expectRefused(r);
    expect(r.ms).toBeLessThan(2000);
    const after = await post(`{ images(first: 50) { totalCount edges { node { name } } } }`);
    expect(after.body.errors).toBeUndefined();
    expect(after.body.data.images.totalCount).toBe(4);
  });

  test('1,000 aliases of images(first: 50) are refused within 2 s', async () => {
    const r = await post(ALIASES_1000);
    expectRefused(r);
    expect(r.ms).toBeLessThan(2000);
  });

  test('each limit refuses on its own, and says which', async () => {
    const tooDeep = await post(`query($id: ID!) { image(id: $id) { ${linkChain(6)} } }`, { id: ids.bf2 });
    expectRefused(tooDeep, 'depth');
    expect(tooDeep.body.errors![0]).toMatchObject({ message: 'Query depth limit of 12 exceeded, found 14; CMIR_MAX_QUERY_DEPTH sets the limit.', extensions: { max: 12, setting: 'CMIR_MAX_QUERY_DEPTH' } });

    const aliases = await post(`{ ${Array.from({ length: 16 }, (_, i) => `m${i}: modalities { name }`).join(' ')} }`);
    expectRefused(aliases, 'aliases');
    expect(aliases.body.errors![0].message).toBe('Aliases limit of 15 exceeded, found 16; CMIR_MAX_QUERY_ALIASES sets the limit.');

    // 100 slides x their first 100 images: 10,000 rows. Cost is weighted by `first`.
    const costly = await post(`{ slides(first: 100) { edges { node { images(first: 100) { edges { node { id name thumbnailUrl } } } } } } }`);
    expectRefused(costly, 'cost');
    expect(costly.body.errors![0].message).toMatch(/^Query Cost limit of 200000 exceeded, found [\d.]+; CMIR_MAX_QUERY_COST sets the limit\.$/);
    // The same shape with small pages passes: the cost follows `first`, not the shape.
    const cheap = await post(`{ slides(first: 5) { edges { node { images(first: 5) { edges { node { id name thumbnailUrl } } } } } } }`);
    expect(cheap.body.errors).toBeUndefined();
    expect(cheap.body.data.slides.edges[0].node.images.edges).toHaveLength(3);

    const directives = await post(`{ ${Array.from({ length: 51 }, () => '__typename @include(if: true)').join(' ')} }`);
    expectRefused(directives, 'directives');

    const tokens = await post(`{ ${'__typename '.repeat(1001)}}`);
    expectRefused(tokens, 'tokens');
    expect(tokens.body.errors![0]).toEqual({ message: 'Token limit of 1000 exceeded; CMIR_MAX_QUERY_TOKENS sets the limit.', extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'tokens', max: 1000, setting: 'CMIR_MAX_QUERY_TOKENS' } });
  });

  test("the project's own queries pass: README listing at the largest page, README search, links 5 hops deep", async () => {
    const listing = await post(`query { images(first: 500) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id name width height channels bitDepth format byteSize noDataValue sha256 createdAt slide { id name metadata }
      modality { id name channels normalization comirModel imageCount } thumbnailUrl(size: 256) links { id status score method source { id name } target { id name } targetSlide { name } } } } } }`);
    expect(listing.body.errors).toBeUndefined();
    expect(listing.body.data.images.totalCount).toBe(4);

    // Depth 12, the limit: bf2 -> its link's source (acq) -> its link's target (bf2) -> ...
    const chain = await post(`query($id: ID!) { image(id: $id) { ${linkChain(5)} } }`, { id: ids.bf2 });
    expect(chain.body.errors).toBeUndefined();
    let node = chain.body.data.image;
    for (let hop = 1; hop <= 5; hop++) node = node.links[0][hop % 2 ? 'source' : 'target'];
    expect(node).toEqual({ name: 'acq' });

    // The README's search, as a multipart upload.
    const form = new FormData();
    form.set('operations', JSON.stringify({
      query: `query($file: Upload!) { search(input: { file: $file, modality: "SHG", target: "BF", first: 5 }) {
        matches { rank score confidence image { id name slide { name } } region { x y width height } transform }
        confidenceThreshold timings { total firstStage rerank } } }`,
      variables: { file: null },
    }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([new Uint8Array(await makeImage({ seed: 2, width: 32, height: 24 }))]), 'query.png');
    const res = await fetch(server.url, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true' } });
    const search = (await res.json()) as any;
    expect(search.errors).toBeUndefined();
    expect(search.data.search.matches[0]).toMatchObject({ rank: 1, image: { name: 'bf2', slide: { name: 'S-1' } } });
  });
});

describe('limits are armor validation rules, not only the token count', () => {
  // The attack queries above are long enough to meet the token limit first; with it raised, depth and aliases
  // still refuse them (executeOperation: the same Apollo configuration without HTTP).
  let apollo: ApolloServer<Context>;
  beforeAll(async () => {
    apollo = await createApolloServer(undefined, { queryLimits: { ...DEFAULT_QUERY_LIMITS, tokens: 100_000 }, introspection: false });
  });
  afterAll(async () => {
    await apollo?.stop();
  });
  async function run(query: string) {
    const res = await apollo.executeOperation({ query }, { contextValue: createContext(app, 'http://test', await principalFor(app)) });
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    return { http: res.http.status, ...(res.body.singleResult as Result['body']) };
  }

  test('200 deep: depth (and cost); 1,000 aliases: aliases', async () => {
    const t0 = performance.now();
    const deepResult = await run(DEEP_200);
    expect(deepResult.data).toBeUndefined();
    expect(deepResult.http).toBe(400);
    expect(deepResult.errors!.map((e) => e.extensions)).toContainEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 12, setting: 'CMIR_MAX_QUERY_DEPTH' });
    expect(deepResult.errors!.every((e) => e.extensions?.code === 'QUERY_TOO_COMPLEX')).toBe(true);
    const aliasResult = await run(ALIASES_1000);
    expect(aliasResult.errors!.map((e) => e.extensions)).toContainEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases', max: 15, setting: 'CMIR_MAX_QUERY_ALIASES' });
    expect(aliasResult.data).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('introspection', () => {
  const INTROSPECT = `{ __schema { queryType { name } } }`;

  test('is refused by default, and field suggestions are hidden', async () => {
    const r = await post(INTROSPECT);
    expect(r.status).toBe(400);
    expect(r.body.errors![0]).toMatchObject({
      message: expect.stringMatching(/introspection is off.*CMIR_INTROSPECTION=1/),
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' },
    });
    const typeQuery = await post(`{ __type(name: "Image") { name } }`);
    expect(typeQuery.body.errors![0].extensions).toMatchObject({ validationErrorCode: 'INTROSPECTION_DISABLED' });
    const typo = await post(`{ imagez { totalCount } }`);
    expect(typo.body.errors![0].message).toBe('Cannot query field "imagez" on type "Query".');
  });

  test('is answered with CMIR_INTROSPECTION=1, and so are suggestions', async () => {
    expect(loadConfig({}, {}).introspection).toBe(false);
    const { introspection } = loadConfig({}, { CMIR_INTROSPECTION: '1' });
    expect(introspection).toBe(true);
    const open = await startServer({ ...app, config: { ...app.config, introspection } }, 0, '127.0.0.1');
    try {
      const r = await post(INTROSPECT, {}, open.url);
      expect(r.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
      const typo = await post(`{ imagez { totalCount } }`, {}, open.url);
      expect(typo.body.errors![0].message).toMatch(/Did you mean "images?"/);
    } finally {
      await open.stop();
    }
  });
});

test('limits are read from the environment and validated', () => {
  expect(loadConfig({}, {}).queryLimits).toEqual(DEFAULT_QUERY_LIMITS);
  const env = { CMIR_MAX_QUERY_DEPTH: '7', CMIR_MAX_QUERY_ALIASES: '3', CMIR_MAX_QUERY_COST: '1000', CMIR_MAX_QUERY_TOKENS: '200', CMIR_MAX_QUERY_DIRECTIVES: '2' };
  expect(loadConfig({}, env).queryLimits).toEqual({ depth: 7, aliases: 3, cost: 1000, tokens: 200, directives: 2 });
  expect(() => loadConfig({}, { CMIR_MAX_QUERY_DEPTH: 'deep' })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  expect(() => loadConfig({}, { CMIR_INTROSPECTION: 'yes please' })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
});

describe('bodies the server cannot read answer a JSON error, without stack or paths', () => {
  function expectNoLeak(text: string) {
    expect(text).not.toMatch(/<html|<pre|\bat \w|node_modules|\/work\/|\.ts:\d|\.js:\d|stacktrace/i);
  }

  test('a JSON body over the 1 MB limit: 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1_100_000) } }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await res.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toEqual({ errors: [{ message: 'the request body exceeds the limit of 1mb', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
  });

  test('malformed JSON: 400 BAD_REQUEST', async () => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ __typename }"' });
    expect(res.status).toBe(400);
    const text = await res.text();
    expectNoLeak(text);
    expect(JSON.parse(text)).toEqual({ errors: [{ message: 'the request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
  });

  test('a malformed multipart body: 400 BAD_REQUEST', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz', 'apollo-require-preflight': 'true' },
      body: '--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{',
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expectNoLeak(text);
    expect(JSON.parse(text).errors[0].extensions).toEqual({ code: 'BAD_REQUEST' });
  });

  test('an upload over CMIR_MAX_UPLOAD_BYTES: PAYLOAD_TOO_LARGE, and nothing stored', async () => {
    const small = await startServer({ ...app, config: { ...app.config, maxUploadBytes: 1000 } }, 0, '127.0.0.1');
    try {
      const before = await app.db.prisma.image.count();
      const form = new FormData();
      form.set('operations', JSON.stringify({ query: 'mutation($f: Upload!) { ingestImage(input: { file: $f, modality: "SHG" }) { id } }', variables: { f: null } }));
      form.set('map', JSON.stringify({ 0: ['variables.f'] }));
      form.set('0', new Blob([new Uint8Array(await makeImage({ seed: 77, width: 200, height: 200 }))]), 'big.png');
      const res = await fetch(small.url, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true', ...(await authHeaders(app, 'curator')) } });
      const text = await res.text();
      expectNoLeak(text);
      const body = JSON.parse(text);
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]).toMatchObject({ message: expect.stringMatching(/1000 byte/), extensions: { code: 'PAYLOAD_TOO_LARGE' } });
      expect(await app.db.prisma.image.count()).toBe(before);
    } finally {
      await small.stop();
    }
  });
});
