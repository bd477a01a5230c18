import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import sharp from 'sharp';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { corrupt, makeImage } from '../helpers/images.ts';

let app: TestApp;
let server: RunningServer;
/** A curator's key: ingestion needs one (docs/adr/0014). */
let curator: Record<string, string>;
beforeAll(async () => {
  app = await createTestApp();
  server = await startServer(app, 0, '127.0.0.1');
  curator = await authHeaders(app, 'curator');
  // a curator ingests into existing modalities only; creating one is the admin's (docs/adr/0014)
  await app.services.modalities.create({ name: 'SHG' });
});
afterAll(async () => {
  await server?.stop();
  await app?.close();
});

const INGEST = `mutation($file: Upload!, $slide: String, $noData: Float) {
  ingestImage(input: { file: $file, modality: "SHG", slide: $slide, noDataValue: $noData }) { id name width height noDataValue thumbnailUrl(size: 32) } }`;

/** A GraphQL multipart request (spec: operations, map, then the file parts). */
function multipart(file: Buffer, filename: string, headers: Record<string, string> = { 'apollo-require-preflight': 'true', ...curator }, noData: number | null = null) {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: INGEST, variables: { file: null, slide: 'HTTP-1', noData } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob([new Uint8Array(file)]), filename);
  return fetch(server.url, { method: 'POST', body: form, headers });
}

describe('HTTP server', () => {
  test('answers { __typename } over JSON', async () => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });

  test('multipart upload ingests the file (with its declared no-data value), and its thumbnail is served as PNG', async () => {
    const res = await multipart(await makeImage({ width: 120, height: 60, bitDepth: 16, format: 'tiff', seed: 4 }), 'core_B7.tif', undefined, 0);
    const body = (await res.json()) as any;
    expect(body.errors).toBeUndefined();
    expect(body.data.ingestImage).toMatchObject({ name: 'core_B7', width: 120, height: 60, noDataValue: 0 });
    const thumb = await fetch(body.data.ingestImage.thumbnailUrl.replace('http://', 'http://'));
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/png');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ width: 32, height: 16 });
  });

  test('a corrupt upload is UNSUPPORTED_IMAGE and adds nothing', async () => {
    const before = await app.db.prisma.image.count();
    const res = await multipart(corrupt.garbage(), 'bad.tif');
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe('UNSUPPORTED_IMAGE');
    expect(await app.db.prisma.image.count()).toBe(before);
  });

  test('CSRF prevention refuses a multipart request without a preflight header', async () => {
    const res = await multipart(await makeImage({ seed: 5 }), 'x.png', curator);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Cross-Site Request Forgery/);
    expect(await app.db.prisma.image.count()).toBe(1);
  });

  test('unknown thumbnails are 404 with a typed body', async () => {
    const res = await fetch(server.url.replace('/graphql', '/thumbnails/SW1hZ2U6OTk5.png'));
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('NOT_FOUND');
  });
});
