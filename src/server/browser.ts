/**
 * What a browser needs from the server (docs/adr/0018): CORS for the configured origins (CMIR_CORS_ORIGINS, the
 * maintained `cors` package) and the GraphQL sandbox, GraphiQL bundled from npm (scripts/build-graphiql.js) and served
 * from this server, so it works without internet.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import cors from 'cors';
import express, { type RequestHandler } from 'express';
import { echo } from '../errors.ts';

/**
 * The request headers a page may send: JSON's content type, an API key either way (services/auth.ts keyFromHeaders),
 * and the two headers Apollo's CSRF prevention accepts as proof of a preflight (multipart uploads must send one;
 * Apollo Server docs, "Preventing Cross-Site Request Forgery").
 */
export const CORS_ALLOWED_HEADERS = ['Content-Type', 'Authorization', 'X-Api-Key', 'Apollo-Require-Preflight', 'X-Apollo-Operation-Name'];

/**
 * 600 s: how long a browser may reuse a preflight's answer, so an origin removed from CMIR_CORS_ORIGINS (and the
 * server restarted) is refused within 10 minutes; browsers cap it anyway (Chromium at 7,200 s, Firefox at 86,400 s:
 * MDN, Access-Control-Max-Age).
 */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * CORS for /graphql and /thumbnails. A preflight from a configured origin answers 204 with the allow headers; one from
 * any other origin answers 403 with a JSON body naming CMIR_CORS_ORIGINS and no allow header, so the browser refuses
 * the call. Requests that are not preflights pass on unchanged: same-origin pages (the sandbox) and other clients send
 * `Origin` too, and without an allow header a foreign page cannot read the answer.
 */
export function corsFor(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  const handler = cors({ origin: [...allowed], methods: ['GET', 'POST'], allowedHeaders: CORS_ALLOWED_HEADERS, maxAge: CORS_MAX_AGE_SECONDS });
  return (req, res, next) => {
    const origin = req.get('origin');
    if (req.method === 'OPTIONS' && origin !== undefined && req.get('access-control-request-method') !== undefined && !allowed.has(origin)) {
      res.status(403).json({
        error: { code: 'FORBIDDEN', message: `origin ${JSON.stringify(echo(origin))} may not call this API from a browser: add it to CMIR_CORS_ORIGINS (comma-separated)` },
      });
      return;
    }
    handler(req, res, next);
  };
}

/** The built sandbox (scripts/build-graphiql.js writes it at `npm install`). */
export const SANDBOX_DIR = path.resolve(import.meta.dirname, '..', '..', 'web', 'graphiql', 'dist');

/**
 * The sandbox's Content-Security-Policy: everything from this server only, so the page cannot load anything from the
 * internet (and fails visibly, not silently, if a future GraphiQL tried). Monaco sets inline styles, and its editor
 * fonts are data: URLs (@graphiql/react/font/*.css).
 */
export const SANDBOX_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * /graphiql/: the page, its bundle and Monaco's workers, and `schema.graphql` (the server's SDL, for the editor's
 * completion and docs while introspection is off; a read like any query: `mayRead`).
 */
export function sandboxRouter(typeDefs: string, mayRead: RequestHandler, dir = SANDBOX_DIR): express.Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': SANDBOX_CSP, 'X-Content-Type-Options': 'nosniff' });
    next();
  });
  router.get('/schema.graphql', mayRead, (_req, res) => {
    res.type('text/plain; charset=utf-8').set('Cache-Control', 'no-cache').send(typeDefs);
  });
  router.use((_req, res, next) => {
    if (existsSync(dir)) next();
    else res.status(503).json({ error: { code: 'SANDBOX_NOT_BUILT', message: 'the GraphiQL sandbox is not built: run npm run build:graphiql (npm install does)' } });
  });
  // no max-age: the file names carry no hash, so a browser revalidates (ETag) and sees a rebuilt bundle at once
  router.use(express.static(dir, { index: 'index.html' }));
  return router;
}

/** Whether a GET is a browser's page navigation (prefers HTML over JSON), not an API call. */
export function wantsHtml(req: express.Request): boolean {
  return req.method === 'GET' && req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) === 'text/html';
}

/** The built review dashboard (scripts/build-app.js writes it at `npm install`; web/app, docs/adr/0022). */
export const APP_DIR = path.resolve(import.meta.dirname, '..', '..', 'web', 'app', 'dist');

/**
 * The dashboard's Content-Security-Policy: as the sandbox's, plus `blob:` images (thumbnails and tiles fetched with
 * an API key, which an `<img src>` cannot send, are shown from blob URLs). No inline scripts.
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The dashboard: its page at `/` (for a browser's navigation; API clients asking `/` for JSON get the typed 404) and
 * its bundle under `/app/`. The page holds no data, so it needs no key; what it shows comes from /graphql, /thumbnails
 * and /iiif, which ask for one as usual. Unbuilt, both answer 503 in plain text naming the command that builds it.
 */
export function appRouter(dir = APP_DIR): express.Router {
  const router = express.Router();
  const notBuilt = (res: express.Response) =>
    res.status(503).type('text/plain; charset=utf-8').send('The cmir dashboard is not built: run `npm run build:app` (npm install does), then reload.\n');
  const headers = (res: express.Response) => res.set({ 'Content-Security-Policy': APP_CSP, 'X-Content-Type-Options': 'nosniff' });
  router.get('/', (req, res, next) => {
    if (!wantsHtml(req)) return next();
    headers(res);
    const index = path.join(dir, 'index.html');
    if (!existsSync(index)) return notBuilt(res);
    res.set('Cache-Control', 'no-cache').sendFile(index);
  });
  router.use('/app', (_req, res, next) => {
    headers(res);
    if (existsSync(dir)) next();
    else notBuilt(res);
  });
  // no max-age: the file names carry no hash, so a browser revalidates (ETag) and sees a rebuilt bundle at once
  router.use('/app', express.static(dir, { index: false }));
  return router;
}
