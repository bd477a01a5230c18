/**
 * Slides and images filtered by slide name and slide metadata (key = value), the dashboard's grid filters (issue 20):
 * `slides(filter: { name, metadata })` and `images(filter: { slideMetadata })`. A value typed as text matches a
 * string, or the number or boolean it reads as; several pairs must all hold; bad pairs are typed errors.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createTestApi, type TestApi } from '../helpers/graphql.ts';
import { makeImage } from '../helpers/images.ts';

let app: TestApp;
let api: TestApi;

/** name -> metadata; each slide gets one BF and one SHG image. */
const SLIDES: Record<string, Record<string, unknown>> = {
  'case-01 HE': { stain: 'HE', age: 54, fixed: true, site: 'breast' },
  'case-02 HE': { stain: 'HE', age: 61, fixed: false, site: 'colon' },
  'case-03 PSR': { stain: 'PSR', age: 54, site: 'breast' },
  'control 100%_a': {},
};

beforeAll(async () => {
  app = await createTestApp();
  api = await createTestApi(app);
  let seed = 1;
  for (const [name, metadata] of Object.entries(SLIDES)) {
    const slide = await api.run('mutation($input: CreateSlideInput!) { createSlide(input: $input) { id } }', { input: { name, metadata } });
    expect(slide.errors).toBeUndefined();
    for (const modality of ['BF', 'SHG']) {
      await app.services.images.ingest({ data: await makeImage({ seed: seed++, width: 32, height: 24 }), fileName: `${name}-${modality}.png`, modality, slide: name });
    }
  }
  // an image on no slide: never matched by a metadata filter
  await app.services.images.ingest({ data: await makeImage({ seed: 99, width: 32, height: 24 }), fileName: 'loose.png', modality: 'BF' });
}, 60_000);
afterAll(async () => {
  await api?.stop();
  await app?.close();
});

const slideNames = async (filter: unknown) => {
  const res = await api.run('query($filter: SlideFilter) { slides(first: 50, filter: $filter) { totalCount edges { node { name } } } }', { filter });
  expect(res.errors).toBeUndefined();
  const names = res.data!.slides.edges.map((e: { node: { name: string } }) => e.node.name);
  expect(res.data!.slides.totalCount).toBe(names.length);
  return names;
};
const imageNames = async (filter: unknown) => {
  const res = await api.run('query($filter: ImageFilter) { images(first: 50, filter: $filter) { totalCount edges { node { name } } } }', { filter });
  expect(res.errors).toBeUndefined();
  return res.data!.images.edges.map((e: { node: { name: string } }) => e.node.name);
};

describe('slides filtered by name and metadata', () => {
  test('no filter lists every slide; a name part, any case, only those whose name holds it', async () => {
    expect(await slideNames(null)).toEqual(Object.keys(SLIDES));
    expect(await slideNames({ name: 'he' })).toEqual(['case-01 HE', 'case-02 HE']);
    // LIKE's wildcards are literal
    expect(await slideNames({ name: '%_' })).toEqual(['control 100%_a']);
    expect(await slideNames({ name: '_' })).toEqual(['control 100%_a']);
  });

  test('key = value: strings, and numbers and booleans typed as text; several pairs all hold', async () => {
    expect(await slideNames({ metadata: [{ key: 'stain', value: 'HE' }] })).toEqual(['case-01 HE', 'case-02 HE']);
    expect(await slideNames({ metadata: [{ key: 'age', value: '54' }] })).toEqual(['case-01 HE', 'case-03 PSR']);
    expect(await slideNames({ metadata: [{ key: 'fixed', value: 'false' }] })).toEqual(['case-02 HE']);
    expect(await slideNames({ metadata: [{ key: 'age', value: '54' }, { key: 'stain', value: 'HE' }] })).toEqual(['case-01 HE']);
    expect(await slideNames({ name: 'case', metadata: [{ key: 'site', value: 'breast' }] })).toEqual(['case-01 HE', 'case-03 PSR']);
    // a value is matched whole, case and all; an unknown key matches nothing
    expect(await slideNames({ metadata: [{ key: 'stain', value: 'he' }] })).toEqual([]);
    expect(await slideNames({ metadata: [{ key: 'stain', value: 'H' }] })).toEqual([]);
    expect(await slideNames({ metadata: [{ key: 'scanner', value: 'HE' }] })).toEqual([]);
  });

  test('images on slides whose metadata matches, with the other filters', async () => {
    expect(await imageNames({ slideMetadata: [{ key: 'stain', value: 'HE' }] })).toEqual(['case-01 HE-BF', 'case-01 HE-SHG', 'case-02 HE-BF', 'case-02 HE-SHG']);
    expect(await imageNames({ slideMetadata: [{ key: 'age', value: '54' }], modality: 'SHG' })).toEqual(['case-01 HE-SHG', 'case-03 PSR-SHG']);
    expect(await imageNames({ slideMetadata: [{ key: 'site', value: 'colon' }], name: 'bf' })).toEqual(['case-02 HE-BF']);
    expect(await imageNames({ slideMetadata: [] })).toHaveLength(Object.keys(SLIDES).length * 2 + 1);
  });

  test('a blank key, an oversized value or too many pairs: BAD_USER_INPUT naming the problem', async () => {
    for (const [filter, message] of [
      [{ metadata: [{ key: ' ', value: 'HE' }] }, /metadata key/],
      [{ metadata: [{ key: 'stain', value: 'x'.repeat(1001) }] }, /metadata value/],
      [{ metadata: Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, value: 'v' })) }, /at most 20/],
    ] as const) {
      const res = await api.run('query($filter: SlideFilter) { slides(filter: $filter) { totalCount } }', { filter });
      expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0].message).toMatch(message);
    }
    const res = await api.run('query($filter: ImageFilter) { images(filter: $filter) { totalCount } }', { filter: { slideMetadata: [{ key: '', value: 'HE' }] } });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
