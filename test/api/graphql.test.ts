import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { createContext } from '../../src/server/context.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createTestApi, type TestApi } from '../helpers/graphql.ts';
import { makeImage } from '../helpers/images.ts';

let app: TestApp;
/** Mutations need a key (docs/adr/0014): these tests run as a fresh admin key. */
let api: TestApi;

beforeAll(async () => {
  app = await createTestApp();
  api = await createTestApi(app);
});
afterAll(async () => {
  await api?.stop();
  await app?.close();
});

const run: TestApi['run'] = (query, variables) => api.run(query, variables);

describe('GraphQL API (executeOperation)', () => {
  test('slides: create, list with totalCount, metadata update, node(id)', async () => {
    const created = await run(`mutation { createSlide(input: { name: "S-1", metadata: { organ: "breast" } }) { id name metadata } }`);
    expect(created.errors).toBeUndefined();
    const id = created.data!.createSlide.id;
    expect(created.data!.createSlide).toMatchObject({ name: 'S-1', metadata: { organ: 'breast' } });
    const updated = await run(`mutation($id: ID!) { updateSlideMetadata(input: { id: $id, metadata: { grade: 2 } }) { metadata } }`, { id });
    expect(updated.data!.updateSlideMetadata.metadata).toEqual({ organ: 'breast', grade: 2 });
    const listed = await run(`{ slides(first: 5) { totalCount edges { node { id name } } } }`);
    expect(listed.data!.slides).toEqual({ totalCount: 1, edges: [{ node: { id, name: 'S-1' } }] });
    const node = await run(`query($id: ID!) { node(id: $id) { __typename ... on Slide { name } } }`, { id });
    expect(node.data!.node).toEqual({ __typename: 'Slide', name: 'S-1' });
  });

  test('images: ingested rows resolve slide, modality and a thumbnail URL; connections page with cursors', async () => {
    for (let seed = 0; seed < 3; seed++) {
      await app.services.images.ingest({ data: await makeImage({ seed }), fileName: `img${seed}.png`, modality: 'SHG', slide: 'S-1' });
    }
    const page1 = await run(`{ images(first: 2, filter: { modality: "SHG" }) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id name width height bitDepth slide { name } modality { name normalization imageCount } thumbnailUrl(size: 64) } } } }`);
    expect(page1.errors).toBeUndefined();
    const conn = page1.data!.images;
    expect(conn.totalCount).toBe(3);
    expect(conn.pageInfo.hasNextPage).toBe(true);
    expect(conn.edges.map((e: any) => e.node.name)).toEqual(['img0', 'img1']);
    expect(conn.edges[0].node).toMatchObject({ width: 64, height: 48, bitDepth: 8, slide: { name: 'S-1' }, modality: { name: 'SHG', normalization: 'LOG1P', imageCount: 3 } });
    expect(conn.edges[0].node.thumbnailUrl).toBe(`http://test/thumbnails/${conn.edges[0].node.id}.png?size=64`);
    const page2 = await run(`query($after: String) { images(first: 2, after: $after) { edges { node { name } } pageInfo { hasNextPage } } }`, {
      after: conn.pageInfo.endCursor,
    });
    expect(page2.data!.images).toEqual({ edges: [{ node: { name: 'img2' } }], pageInfo: { hasNextPage: false } });
    const modalities = await run(`{ modalities { name imageCount } }`);
    expect(modalities.data!.modalities).toEqual([{ name: 'SHG', imageCount: 3 }]);
  });

  test('typed errors: NOT_FOUND, BAD_USER_INPUT for bad ids and arguments; unknown ids give null', async () => {
    const missing = await run(`query($id: ID!) { image(id: $id) { id } }`, { id: toGlobalId('Image', 9999) });
    expect(missing.data!.image).toBeNull();
    const wrongType = await run(`query($id: ID!) { image(id: $id) { id } }`, { id: toGlobalId('Slide', 1) });
    expect(wrongType.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    const del = await run(`mutation($id: ID!) { deleteImage(id: $id) { deletedId } }`, { id: toGlobalId('Image', 9999) });
    expect(del.errors![0].extensions!.code).toBe('NOT_FOUND');
    const bothOrNone = await run(`mutation { ingestImage(input: { modality: "BF" }) { id } }`);
    expect(bothOrNone.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/exactly one of file/) });
    const badPage = await run(`{ images(first: -1) { totalCount } }`);
    expect(badPage.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });

  test('internal errors are masked', async () => {
    const broken = await api.server.executeOperation(
      { query: '{ modalities { name } }' },
      { contextValue: { ...createContext(app, 'http://test', api.principal), services: { modalities: { list: () => { throw new Error('secret detail'); } } } } as never },
    );
    const result = (broken.body as any).singleResult;
    expect(result.errors[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(result)).not.toContain('secret detail');
  });

  test('deleteImage removes it from the list', async () => {
    const image = await app.services.images.ingest({ data: await makeImage({ seed: 50 }), fileName: 'gone.png', modality: 'BF' });
    const res = await run(`mutation($id: ID!) { deleteImage(id: $id) { deletedId } }`, { id: toGlobalId('Image', image.id) });
    expect(res.data!.deleteImage.deletedId).toBe(toGlobalId('Image', image.id));
    const after = await run(`{ images(filter: { modality: "BF" }) { totalCount } }`);
    expect(after.data!.images.totalCount).toBe(0);
  });
});
