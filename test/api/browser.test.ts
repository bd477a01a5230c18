/**
 * What a browser needs (issue 23 item 3, docs/adr/0018): CORS for CMIR_CORS_ORIGINS beside Apollo's CSRF prevention,
 * the local GraphiQL sandbox, and the probes /healthz and /readyz.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseCorsOrigins } from '../../src/config.ts';
import { APP_DIR, appRouter, SANDBOX_DIR, sandboxRouter } from '../../src/server/browser.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { DATABASE_PING_MS, HealthService } from '../../src/services/health.service.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { REPO_ROOT } from '../helpers/comir.ts';

const LAB = 'http://lab.example:8080';
let app: TestApp;
/** Anonymous reads (a loopback server's default), CORS for LAB only. */
let server: RunningServer;
/** The same app behind a server that answers nothing without a key (CMIR_ANONYMOUS=none). */
let closed: RunningServer;
let reader: Record<string, string>;

beforeAll(async () => {
  // `npm install` builds the sandbox (postinstall); a checkout that skipped it builds it here, as the server needs it
  if (!existsSync(path.join(SANDBOX_DIR, 'index.html'))) execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-graphiql.js')], { stdio: 'inherit' });
  if (!existsSync(path.join(APP_DIR, 'index.html'))) execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-app.js')], { stdio: 'inherit' });
  app = await createTestApp({ corsOrigins: [LAB] });
  server = await startServer(app, 0, '127.0.0.1');
  closed = await startServer({ ...app, config: { ...app.config, anonymous: 'none' } }, 0, '127.0.0.1');
  reader = await authHeaders(app, 'reader');
}, 180_000);
afterAll(async () => {
  await server?.stop();
  await closed?.stop();
  await app?.close();
});

const base = (s: RunningServer) => s.url.replace(/\/graphql$/, '');
const preflight = (origin: string, requestHeaders = 'content-type, authorization, x-api-key, apollo-require-preflight') =>
  fetch(server.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders } });

describe('CORS (CMIR_CORS_ORIGINS)', () => {
  test('a preflight from a configured origin answers 204 with the origin and every header the API reads', async () => {
    const res = await preflight(LAB);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(LAB);
    const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase().split(',').map((h) => h.trim());
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'authorization', 'x-api-key', 'apollo-require-preflight']));
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,POST');
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  test('a preflight from any other origin answers 403 naming CMIR_CORS_ORIGINS, with no allow header', async () => {
    for (const origin of ['http://evil.example', 'http://lab.example:8081', 'https://lab.example:8080']) {
      const res = await preflight(origin);
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-headers')).toBeNull();
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('FORBIDDEN');
      expect(body.error.message).toContain('CMIR_CORS_ORIGINS');
      expect(body.error.message).toContain(origin);
    }
  });

  test("the configured origin's request runs, with its key, and is allowed to read the answer", async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { origin: LAB, 'content-type': 'application/json', ...reader },
      body: JSON.stringify({ query: '{ images(first: 1) { totalCount } }' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(LAB);
    expect(await res.json()).toEqual({ data: { images: { totalCount: 0 } } });
  });

  test("CSRF prevention still refuses a request a page could send without a preflight, even from the allowed origin", async () => {
    const res = await fetch(server.url, { method: 'POST', headers: { origin: LAB, 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/);
  });

  test('CMIR_CORS_ORIGINS takes exact origins, comma-separated; a path, a wildcard or garbage is BAD_USER_INPUT', () => {
    expect(parseCorsOrigins(undefined)).toEqual([]);
    expect(parseCorsOrigins(' https://a.example , http://localhost:5173,')).toEqual(['https://a.example', 'http://localhost:5173']);
    for (const bad of ['*', 'https://a.example/', 'https://a.example/app', 'a.example', 'file:///x']) {
      expect(() => parseCorsOrigins(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining('CMIR_CORS_ORIGINS') }));
    }
  });
});

describe('the GraphiQL sandbox', () => {
  test('/graphiql/ serves the bundled page: HTML that names nothing outside the server, under a self-only CSP', async () => {
    const res = await fetch(`${base(server)}/graphiql/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*connect-src 'self'/);
    const html = await res.text();
    expect(html).toContain('<div id="graphiql">');
    expect(html.match(/(?:https?:)?\/\/[^\s"'<>]+/g) ?? []).toEqual([]); // no URL with a host: everything from here
    // the assets the page names are served from here
    for (const asset of [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((a) => !a.startsWith('data:'))) {
      const a = await fetch(new URL(asset, `${base(server)}/graphiql/`));
      expect(a.status, asset).toBe(200);
      expect(a.headers.get('content-type'), asset).toMatch(/^(text\/css|(text|application)\/javascript)/);
      expect(Number(a.headers.get('content-length')), asset).toBeGreaterThan(100_000); // the bundle, not a stub
    }
    // Monaco's three workers beside it
    for (const worker of ['editor.worker.js', 'json.worker.js', 'graphql.worker.js']) expect((await fetch(`${base(server)}/graphiql/${worker}`)).status).toBe(200);
  });

  test('a browser opening /graphql is sent to the sandbox; / is the dashboard; API calls to /graphql are not', async () => {
    const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const res = await fetch(`${base(server)}/graphql`, { headers: html, redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!, `${base(server)}/graphql`).pathname).toBe('/graphiql/');
    const root = await fetch(`${base(server)}/`, { headers: html, redirect: 'manual' });
    expect(root.status).toBe(200);
    expect(root.headers.get('content-security-policy')).toMatch(/default-src 'self'.*connect-src 'self'/);
    const page = await root.text();
    expect(page).toContain('<div id="root">');
    expect(page.match(/(?:https?:)?\/\/[^\s"'<>]+/g) ?? []).toEqual([]); // no URL with a host: everything from here
    for (const asset of [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((a) => !a.startsWith('data:'))) {
      const a = await fetch(new URL(asset, `${base(server)}/`));
      expect(a.status, asset).toBe(200);
      expect(a.headers.get('content-type'), asset).toMatch(/^(text\/css|(text|application)\/javascript)/);
    }
    // OpenSeadragon's button images, from its package
    expect((await fetch(`${base(server)}/app/osd/zoomin_rest.png`)).headers.get('content-type')).toBe('image/png');
    // an API client asking / for JSON gets the typed 404, not the page
    expect((await fetch(`${base(server)}/`, { headers: { accept: 'application/json' } })).status).toBe(404);
    const api = await fetch(`${server.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json', 'apollo-require-preflight': 'true' } });
    expect(await api.json()).toEqual({ data: { __typename: 'Query' } });
  });

  test("the sandbox's schema.graphql is the server's SDL, a read: anonymous where reads are, else only with a key", async () => {
    const open = await fetch(`${base(server)}/graphiql/schema.graphql`);
    expect(open.status).toBe(200);
    expect(open.headers.get('content-type')).toMatch(/^text\/plain/);
    const sdl = await open.text();
    expect(sdl).toMatch(/type Query \{/);
    expect(sdl).toMatch(/images\(/);
    expect((await fetch(`${base(closed)}/graphiql/schema.graphql`)).status).toBe(401);
    const keyed = await fetch(`${base(closed)}/graphiql/schema.graphql`, { headers: reader });
    expect(keyed.status).toBe(200);
    expect(await keyed.text()).toBe(sdl);
  });

  test('an unbuilt sandbox answers 503 naming the command that builds it', async () => {
    const web = express().use('/graphiql', sandboxRouter('type Query { a: Int }', (_q, _s, next) => next(), path.join(app.home, 'no-such-build')));
    const s = http.createServer(web);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(s.address() as { port: number }).port}/graphiql/`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: { code: 'SANDBOX_NOT_BUILT', message: expect.stringContaining('npm run build:graphiql') } });
    } finally {
      s.close();
    }
  });

  test('an unbuilt dashboard answers 503 in plain text naming the command that builds it', async () => {
    const web = express().use(appRouter(path.join(app.home, 'no-such-build')));
    const s = http.createServer(web);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      for (const p of ['/', '/app/app.js']) {
        const res = await fetch(`http://127.0.0.1:${(s.address() as { port: number }).port}${p}`, { headers: { accept: 'text/html' } });
        expect(res.status, p).toBe(503);
        expect(res.headers.get('content-type'), p).toMatch(/^text\/plain/);
        expect(await res.text(), p).toContain('npm run build:app');
      }
    } finally {
      s.close();
    }
  });
});

describe('/healthz and /readyz', () => {
  test('/healthz answers without a key, also where nothing else does', async () => {
    const res = await fetch(`${base(closed)}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, database: app.db.kind });
  });

  test("/readyz is 200 once the database answers and every modality's model loads, 503 naming a model that does not", async () => {
    const none = await fetch(`${base(closed)}/readyz`); // no key needed
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({ ready: true, database: { ok: true, kind: app.db.kind }, models: { ok: true, loaded: [] } });

    const { model } = await app.services.models.register(path.join(REPO_ROOT, 'models', 'shg-bf'));
    const label = `shg-bf@${model.version.slice(0, 12)}`;
    const ready = await fetch(`${base(server)}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { models: unknown }).models).toEqual({ ok: true, loaded: [label] });

    // the model's folder gone (moved, a failed copy): not ready, and the answer says which model
    await app.db.prisma.comirModel.update({ where: { id: model.id }, data: { dir: path.join(app.home, 'moved-away') } });
    const broken = await fetch(`${base(server)}/readyz`);
    expect(broken.status).toBe(503);
    expect(broken.headers.get('cache-control')).toBe('no-store');
    expect(await broken.json()).toEqual({
      ready: false,
      database: { ok: true, kind: app.db.kind },
      models: { ok: false, loaded: [], error: `CoMIR model ${label} could not be loaded` },
    });
  });

  test(`a database that does not answer SELECT 1 within ${DATABASE_PING_MS} ms is not ready`, async () => {
    const hanging = { $queryRaw: () => new Promise(() => undefined) } as unknown as ConstructorParameters<typeof HealthService>[0];
    const r = await new HealthService(hanging, 'postgres', app.services.representations).readiness();
    expect(r).toEqual({
      ready: false,
      database: { ok: false, kind: 'postgres', error: `no answer to SELECT 1 within ${DATABASE_PING_MS} ms` },
      models: { ok: false, loaded: [], error: 'not checked: the database is unreachable' },
    });
  });
});
