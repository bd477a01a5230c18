/**
 * Image.thumbnailDataUrl (issue 20, the dashboard's grid): the PNG thumbnail inline as a data: URL, the same bytes
 * /thumbnails serves, bounded to 256 px so a page of them stays small.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createTestApi, type TestApi } from '../helpers/graphql.ts';
import { makeImage } from '../helpers/images.ts';

let app: TestApp;
let api: TestApi;
let id = '';
let rowId = 0;

beforeAll(async () => {
  app = await createTestApp();
  api = await createTestApi(app);
  const image = await app.services.images.ingest({ data: await makeImage({ seed: 5, width: 200, height: 120 }), fileName: 'wide.png', modality: 'BF' });
  rowId = image.id;
  id = toGlobalId('Image', image.id);
}, 60_000);
afterAll(async () => {
  await api?.stop();
  await app?.close();
});

test('a data: URL of the same PNG thumbnailUrl serves, longer side the size asked for', async () => {
  const res = await api.run('query($id: ID!) { image(id: $id) { small: thumbnailDataUrl(size: 64) default: thumbnailDataUrl } }', { id });
  expect(res.errors).toBeUndefined();
  const { small, default: full } = res.data!.image;
  expect(small).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
  const png = Buffer.from(small.slice('data:image/png;base64,'.length), 'base64');
  expect(png.equals(await app.services.images.thumbnail(rowId, 64))).toBe(true);
  expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 64, height: 38 });
  // the default is 256, not enlarged past the image (200 x 120)
  const meta = await sharp(Buffer.from(full.split(',')[1], 'base64')).metadata();
  expect([meta.width, meta.height]).toEqual([200, 120]);
});

test('a size past 256 (or below 16) is BAD_USER_INPUT naming the bound', async () => {
  for (const size of [257, 15]) {
    const res = await api.run('query($id: ID!, $size: Int) { image(id: $id) { thumbnailDataUrl(size: $size) } }', { id, size });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message).toMatch(/between 16 and 256/);
  }
});
