/**
 * Issue 19 part 5, input rules over HTTP: a new modality is the admin's to create (a curator's image of an unknown
 * modality is FORBIDDEN and stores nothing), errors repeat at most 200 characters of the input, and a hostile multipart
 * body (cut off in the file part, or with a broken boundary) is a 4xx with a code, never a crash or a stored file.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createKey } from '../helpers/auth.ts';
import { makeImage } from '../helpers/images.ts';

let app: TestApp;
let server: RunningServer;
let curator: string;
let admin: string;
beforeAll(async () => {
  app = await createTestApp();
  server = await startServer(app, 0, '127.0.0.1');
  curator = await createKey(app, 'curator', 'the-curator');
  admin = await createKey(app, 'admin', 'the-admin');
  await app.services.modalities.create({ name: 'SHG' });
});
afterAll(async () => {
  await server?.stop();
  await app?.close();
});

const INGEST = 'mutation($f: Upload!, $m: String!) { ingestImage(input: { file: $f, modality: $m }) { id modality { id name } } }';

/** A GraphQL multipart ingestion (spec: operations, map, then the file part) with this key. */
async function upload(key: string, modality: string, file: Buffer) {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: INGEST, variables: { f: null, m: modality } }));
  form.set('map', JSON.stringify({ 0: ['variables.f'] }));
  form.set('0', new Blob([new Uint8Array(file)]), 'x.png');
  const res = await fetch(server.url, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${key}` } });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: { message: string; extensions: Record<string, unknown> }[] }) };
}

async function post(query: string, variables: Record<string, unknown>, key = admin) {
  const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: { message: string; extensions: Record<string, unknown> }[] }) };
}

const counts = async () => ({
  images: await app.db.prisma.image.count(),
  modalities: await app.db.prisma.modality.count(),
  files: (await readdir(path.join(app.home, 'files'), { recursive: true }).catch(() => [])).length,
});

describe('creating a modality by ingestion needs the admin role', () => {
  test("a curator's image of an unknown modality: FORBIDDEN naming the admin role, nothing stored", async () => {
    const before = await counts();
    const res = await upload(curator, 'NEWMOD', await makeImage({ seed: 401 }));
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]).toMatchObject({ message: expect.stringMatching(/NEWMOD does not exist.*admin role/), extensions: { code: 'FORBIDDEN', requiredRole: 'admin' } });
    expect(await counts()).toEqual(before);
  });

  test('a curator ingests into an existing modality, in any case', async () => {
    const res = await upload(curator, 'shg', await makeImage({ seed: 402 }));
    expect(res.errors).toBeUndefined();
    expect(res.data.ingestImage.modality.name).toBe('SHG');
  });

  test("an admin's image of an unknown modality creates it", async () => {
    const res = await upload(admin, 'NEWMOD', await makeImage({ seed: 403 }));
    expect(res.errors).toBeUndefined();
    expect(res.data.ingestImage.modality.name).toBe('NEWMOD');
    // now it exists: a curator may add to it
    const more = await upload(curator, 'newmod', await makeImage({ seed: 404 }));
    expect(more.data.ingestImage.modality.id).toBe(res.data.ingestImage.modality.id);
  });

  test('createModality of another spelling of an existing name: CONFLICT', async () => {
    const res = await post('mutation($n: String!) { createModality(input: { name: $n }) { id } }', { n: 'Shg' });
    expect(res.errors![0]).toMatchObject({ message: expect.stringMatching(/already exists as SHG/), extensions: { code: 'CONFLICT', existing: 'SHG' } });
  });
});

describe('errors repeat at most 200 characters of the input', () => {
  test('a 100,000-character modality name comes back cut, with its length', async () => {
    const huge = 'A'.repeat(100_000);
    const res = await post('mutation($n: String!) { createModality(input: { name: $n }) { id } }', { n: huge });
    expect(res.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).toContain('(100000 characters)');
    expect(JSON.stringify(res).length).toBeLessThan(1000);
  });

  test('a NOT_FOUND of a huge name is cut too', async () => {
    const huge = 'Z'.repeat(50_000);
    const res = await post('mutation($m: String!) { buildVocabulary(input: { modality: $m }) { id } }', { m: huge });
    expect(res.errors![0].extensions.code).toMatch(/BAD_USER_INPUT|NOT_FOUND/);
    expect(JSON.stringify(res).length).toBeLessThan(1000);
  });
});

describe('a hostile multipart body', () => {
  const boundary = 'cmirboundary42';
  /** The multipart ingestion of `file` by hand, so that it can be cut or broken: operations, map, the file part. */
  function body(file: Buffer, opts: { cutAt?: number } = {}): Buffer {
    const head = [
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: INGEST, variables: { f: null, m: 'SHG' } })}\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n${JSON.stringify({ 0: ['variables.f'] })}\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="cut.png"\r\nContent-Type: image/png\r\n\r\n`,
    ].join('');
    const whole = Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    return opts.cutAt === undefined ? whole : whole.subarray(0, Buffer.byteLength(head) + opts.cutAt);
  }
  async function send(data: Buffer, contentType: string) {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': contentType, 'apollo-require-preflight': 'true', authorization: `Bearer ${admin}` },
      body: new Uint8Array(data),
    });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) as { data?: any; errors?: { message: string; extensions: { code: string } }[] } };
  }

  test('the control: the same body whole is ingested', async () => {
    const res = await send(body(await makeImage({ seed: 410 })), `multipart/form-data; boundary=${boundary}`);
    expect(res.json.errors).toBeUndefined();
    expect(res.json.data.ingestImage.id).toBeTruthy();
  });

  test('cut off in the middle of the file part: 4xx with a code, nothing stored, the server still answers', async () => {
    const file = await makeImage({ seed: 411, width: 200, height: 200 });
    const before = await counts();
    const res = await send(body(file, { cutAt: Math.floor(file.length / 2) }), `multipart/form-data; boundary=${boundary}`);
    expect(res.status).toBe(400);
    expect(res.json.errors![0]).toMatchObject({ message: expect.stringMatching(/upload could not be read/), extensions: { code: 'BAD_REQUEST' } });
    expect(res.text).not.toMatch(/INTERNAL_SERVER_ERROR|at .*\.ts:/);
    expect(await counts()).toEqual(before);
    const alive = await post('{ __typename }', {});
    expect(alive.data).toEqual({ __typename: 'Query' });
  });

  test('a boundary that does not match the body, or none: 400 with a code, nothing stored', async () => {
    const file = await makeImage({ seed: 412 });
    const before = await counts();
    for (const contentType of ['multipart/form-data; boundary=another', 'multipart/form-data; boundary=', 'multipart/form-data']) {
      const res = await send(body(file), contentType);
      expect(res.status, contentType).toBeGreaterThanOrEqual(400);
      expect(res.status, contentType).toBeLessThan(500);
      expect(res.json.errors![0].extensions.code, contentType).toMatch(/^(BAD_REQUEST|BAD_USER_INPUT)$/);
      expect(res.text).not.toMatch(/INTERNAL_SERVER_ERROR/);
    }
    expect(await counts()).toEqual(before);
  });
});
