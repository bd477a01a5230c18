import { afterAll, beforeAll, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { principalFor } from '../helpers/auth.ts';
import { createTestApi, type TestApi } from '../helpers/graphql.ts';
import { crop, texturedImage } from '../helpers/synthetic-images.ts';
import { greyPng } from '../helpers/images.ts';

let app: TestApp;
/** Mutations need a key (docs/adr/0014): these tests run as a fresh admin key. */
let api: TestApi;
const ids: string[] = [];


beforeAll(async () => {
  app = await createTestApp();
  api = await createTestApi(app, await principalFor(app, 'admin', 'dr. b'));
  for (let i = 0; i < 5; i++) {
    const image = await app.services.images.ingest({ data: await greyPng(texturedImage(256, 256, 300 + i)), fileName: `t${i}.png`, modality: 'TEX', slide: `slide-${i}` });
    ids.push(toGlobalId('Image', image.id));
  }
  const acq = await app.services.images.ingest({ data: await greyPng(crop(texturedImage(256, 256, 302), 60, 40, 140, 140)), fileName: 'acq.png', modality: 'TEX' });
  ids.push(toGlobalId('Image', acq.id));
});
afterAll(async () => {
  await api?.stop();
  await app?.close();
});

/** (loosely typed: these tests read deep into the results) */
const run = (query: string, variables?: Record<string, unknown>) => api.run(query, variables) as Promise<{ data?: any; errors?: any[] }>;

test('buildVocabulary -> job -> search by stored image -> link -> confirm, over GraphQL', async () => {
  // searchable as soon as ingested (the vector first stage); the paper's words wait for a vocabulary
  const early = await run(
    `query($id: ID!) { search(input: { imageId: $id, target: "TEX", first: 2 }) { firstStage vocabulary { id } confidenceThreshold matches { rank score confidence } } }`,
    { id: ids[5] },
  );
  expect(early.errors).toBeUndefined();
  expect(early.data.search).toMatchObject({ firstStage: 'VECTORS', vocabulary: null });
  expect(early.data.search.matches).toHaveLength(2);
  // every match says how sure it is: the top one by its lead over the second, the second (trailing) far less
  const [top, next] = early.data.search.matches;
  expect(top.confidence).toBeGreaterThan(next.confidence);
  expect(next.confidence).toBeGreaterThanOrEqual(0);
  expect(top.confidence).toBeLessThanOrEqual(1);
  expect(early.data.search.confidenceThreshold).toBeGreaterThan(0);
  const notReady = await run(`query($id: ID!) { search(input: { imageId: $id, target: "TEX", rerank: { mode: VERIFY } }) { matches { rank } } }`, { id: ids[5] });
  expect(notReady.errors![0].extensions.code).toBe('INDEX_NOT_READY');

  const built = await run(`mutation { buildVocabulary(input: { modality: "TEX", size: 1500, seed: 2 }) { id state } }`);
  expect(built.errors).toBeUndefined();
  await app.services.jobs.drain();
  const job = await run(`query($id: ID!) { job(id: $id) { state progress done total owner heartbeatAt } }`, { id: built.data.buildVocabulary.id });
  expect(job.data.job).toMatchObject({ state: 'SUCCEEDED', progress: 1, owner: app.services.jobs.owner });
  expect(Date.parse(job.data.job.heartbeatAt)).toBeGreaterThan(0);

  const found = await run(
    `query($id: ID!) { search(input: { imageId: $id, target: "TEX", first: 3, rerank: { mode: FAST, topK: 5 } }) {
      matches { rank score nWords image { id name slide { name } } region { x y width height } }
      rerank timings { total firstStage rerank } vocabulary { size state modality representation } } }`,
    { id: ids[5] },
  );
  expect(found.errors).toBeUndefined();
  const best = found.data.search.matches[0];
  expect(best).toMatchObject({ rank: 1, image: { id: ids[2], name: 't2', slide: { name: 'slide-2' } } });
  expect(best.region.width).toBe(140);
  expect(Math.abs(best.region.x - 60) + Math.abs(best.region.y - 40)).toBeLessThanOrEqual(48);
  expect(found.data.search.rerank).toBe('FAST');
  expect(found.data.search.vocabulary).toMatchObject({ size: 1500, state: 'ready', modality: 'TEX', representation: 'raw' });

  const linked = await run(
    `mutation($s: ID!, $t: ID!, $r: RegionInput) { linkAcquisition(input: { source: $s, target: $t, region: $r, score: 0.5, method: "search:fast" }) {
      id status createdBy transform targetSlide { name } target { id } } }`,
    { s: ids[5], t: best.image.id, r: best.region },
  );
  expect(linked.errors).toBeUndefined();
  expect(linked.data.linkAcquisition).toMatchObject({ status: 'PROPOSED', createdBy: 'dr. b', targetSlide: { name: 'slide-2' }, target: { id: ids[2] } });
  expect(linked.data.linkAcquisition.transform).toEqual([1, 0, best.region.x, 0, 1, best.region.y]);

  const confirmed = await run(`mutation($id: ID!) { setLinkStatus(input: { id: $id, status: CONFIRMED }) { status decidedBy decidedAt } }`, {
    id: linked.data.linkAcquisition.id,
  });
  expect(confirmed.data.setLinkStatus).toMatchObject({ status: 'CONFIRMED', decidedBy: 'dr. b' });
  const listed = await run(`query($id: ID!) { image(id: $id) { links { status source { name } } slide { links { status } } } }`, { id: ids[2] });
  expect(listed.data.image.links).toEqual([{ status: 'CONFIRMED', source: { name: 'acq' } }]);
  expect(listed.data.image.slide.links).toEqual([{ status: 'CONFIRMED' }]);
});

test('search input errors are typed', async () => {
  const both = await run(`query { search(input: { target: "TEX" }) { matches { rank } } }`);
  expect(both.errors![0].extensions.code).toBe('BAD_USER_INPUT');
  const unknown = await run(`query($id: ID!) { search(input: { imageId: $id, target: "NOPE" }) { matches { rank } } }`, { id: ids[0] });
  expect(unknown.errors![0].extensions.code).toBe('NOT_FOUND');
  const big = await run(`query($id: ID!) { search(input: { imageId: $id, target: "TEX", first: 1000 }) { matches { rank } } }`, { id: ids[0] });
  expect(big.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/^Expected an integer between 1 and 100 for first/) });
  const scale = await run(`query($id: ID!) { search(input: { imageId: $id, target: "TEX", rerank: { scaleTolerance: 2 } }) { matches { rank } } }`, { id: ids[0] });
  expect(scale.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', parameter: 'rerank.scaleTolerance' }, message: expect.stringMatching(/^Expected a fraction between 0 and 0.5/) });
  const weight = await run(`query($id: ID!) { search(input: { imageId: $id, target: "TEX", rerank: { structureWeight: -0.5 } }) { matches { rank } } }`, { id: ids[0] });
  expect(weight.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', parameter: 'rerank.structureWeight' }, message: expect.stringMatching(/^Expected a weight between 0 and 1/) });
  const refine = await run(`query($id: ID!) { search(input: { imageId: $id, target: "TEX", rerank: { refine: 300 } }) { matches { rank } } }`, { id: ids[0] });
  expect(refine.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', parameter: 'rerank.refine' }, message: expect.stringMatching(/^Expected an integer between 0 and 200/) });
  const fill = await run(`query($id: ID!) { search(input: { imageId: $id, target: "TEX", noDataValue: -1 }) { matches { rank } } }`, { id: ids[0] });
  expect(fill.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', parameter: 'noDataValue' }, message: expect.stringMatching(/^Expected a value between 0 and 1/) });
});
