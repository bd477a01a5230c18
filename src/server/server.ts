import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import { graphqlUploadExpress } from 'graphql-upload-minimal';
import type { App } from '../app.ts';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from '../config.ts';
import { echo } from '../errors.ts';
import { fromGlobalId } from '../ids.ts';
import { splitQualityFormat } from '../pipeline/decode/iiif.ts';
import { resolvers } from '../resolvers/index.ts';
import { type AnonymousAccess, authorize, isLoopback, keyFromHeaders, type Principal } from '../services/auth.ts';
import { IIIF_CONTEXT, TILE_CACHE_CONTROL } from '../services/tile.service.ts';
import { authPlugin } from './auth-plugin.ts';
import { appRouter, corsFor, sandboxRouter, wantsHtml } from './browser.ts';
import { type Context, createContext } from './context.ts';
import { formatError } from './format-error.ts';
import { JSON_BODY_LIMIT, jsonErrorHandler, multipartErrorsAreBadRequests, sendRouteError } from './http-errors.ts';
import { queryLimitOptions } from './limits.ts';
import { serveSubscriptions } from './subscriptions.ts';
import { PROJECT_ROOT } from '../paths.ts';

const SCHEMA_DIR = path.join(PROJECT_ROOT, 'src', 'schema');
const SCHEMA_FILES = ['base', 'slide', 'modality', 'image', 'job', 'search', 'link', 'auth'];

export async function loadTypeDefs(): Promise<string> {
  return (await Promise.all(SCHEMA_FILES.map((f) => readFile(path.join(SCHEMA_DIR, `${f}.graphql`), 'utf8')))).join('\n');
}

/** The executable schema: the SDL and its resolvers, shared by Apollo (HTTP) and the WebSocket server. */
export async function createSchema(): Promise<GraphQLSchema> {
  return makeExecutableSchema({ typeDefs: await loadTypeDefs(), resolvers: resolvers as Parameters<typeof makeExecutableSchema>[0]['resolvers'] });
}

export interface ApiSettings {
  queryLimits: QueryLimits;
  introspection: boolean;
}

/** The Apollo server alone (no HTTP): what `executeOperation` tests use. Defaults: the default limits, no introspection. */
export async function createApolloServer(
  httpServer?: http.Server,
  settings: ApiSettings = { queryLimits: DEFAULT_QUERY_LIMITS, introspection: false },
  schema?: GraphQLSchema,
): Promise<ApolloServer<Context>> {
  const limits = queryLimitOptions(settings.queryLimits, settings.introspection);
  return new ApolloServer<Context>({
    schema: schema ?? (await createSchema()),
    formatError,
    includeStacktraceInErrorResponses: false,
    // Stated, not left to Apollo's default (on unless NODE_ENV=production): off unless CMIR_INTROSPECTION=1.
    introspection: settings.introspection,
    // On by default in Apollo Server 5; stated here because multipart uploads depend on it: a browser form cannot
    // send the `apollo-require-preflight` header, so cross-site upload forgery is refused.
    csrfPrevention: true,
    // Depth, aliases, cost, tokens, directives (src/server/limits.ts); batched HTTP requests stay off (one limit each).
    validationRules: limits.validationRules,
    parseOptions: limits.parseOptions,
    allowBatchedHttpRequests: limits.allowBatchedHttpRequests,
    hideSchemaDetailsFromClientErrors: limits.hideSchemaDetailsFromClientErrors,
    // Apollo's landing page loads its sandbox from a CDN; the server serves its own GraphiQL at /graphiql/ instead.
    plugins: httpServer ? [authPlugin, ApolloServerPluginDrainHttpServer({ httpServer }), ApolloServerPluginLandingPageDisabled()] : [authPlugin],
  });
}

export interface RunningServer {
  url: string;
  port: number;
  /** What requests without a key may do here (CMIR_ANONYMOUS, else by the bound host). */
  anonymous: AnonymousAccess;
  stop(): Promise<void>;
}

/**
 * Serves GraphQL at /graphql (with multipart uploads), thumbnails at /thumbnails/<image id>.png?size=N, deep-zoom
 * tiles at /iiif/3/<database id>/... (IIIF Image API 3.0 level 1), the review dashboard at / (web/app), the GraphiQL
 * sandbox at /graphiql/ (where a browser opening /graphql is sent) and the probes /healthz and /readyz. Every route asks who the request is
 * (docs/adr/0014): thumbnails, tiles and the sandbox's schema are reads, as queries are; the probes need no key.
 */
export async function startServer(app: App, port: number, host = app.config.host): Promise<RunningServer> {
  // A loopback-only server is reachable from this machine alone: anonymous reads by default there, nothing elsewhere.
  const anonymous: AnonymousAccess = app.config.anonymous ?? (isLoopback(host) ? 'read' : 'none');
  const principalOf = (req: express.Request): Promise<Principal> =>
    app.services.keys.authenticate(keyFromHeaders(req.get('authorization'), req.get('x-api-key')), anonymous);
  /** Thumbnails and IIIF: reads, refused (401 with a typed body) where a query would be. */
  const mayRead: express.RequestHandler = async (req, res, next) => {
    try {
      authorize(await principalOf(req), 'reader');
      next();
    } catch (e) {
      sendRouteError(res, e, 'authentication');
    }
  };
  const web = express();
  const httpServer = http.createServer(web);
  const schema = await createSchema();
  const apollo = await createApolloServer(httpServer, app.config, schema);
  await apollo.start();
  // subscriptions: the same path over WebSocket (server/subscriptions.ts)
  const subscriptions = serveSubscriptions(httpServer, schema, app, { ...app.config, anonymous, port });

  // Liveness: the process answers HTTP. Readiness: the database answers and every modality's CoMIR model is loaded
  // (services/health.service.ts); 503 until then, so a load balancer sends searches elsewhere.
  web.get('/healthz', (_req, res) => {
    res.json({ ok: true, database: app.db.kind });
  });
  web.get('/readyz', async (_req, res) => {
    try {
      const r = await app.services.health.readiness();
      res.status(r.ready ? 200 : 503).set('Cache-Control', 'no-store').json(r);
    } catch (e) {
      sendRouteError(res, e, 'readiness');
    }
  });
  // Browsers: CORS for the configured origins (CMIR_CORS_ORIGINS) and the local GraphiQL sandbox (docs/adr/0018).
  const browserCors = corsFor(app.config.corsOrigins);
  web.use(['/graphql', '/thumbnails'], browserCors);
  web.use('/graphiql', sandboxRouter(await loadTypeDefs(), mayRead));
  // The review dashboard at / (web/app, docs/adr/0022); a browser opening /graphql is sent to the sandbox.
  web.use(appRouter());
  web.get('/graphql', (req, res, next) => {
    if (wantsHtml(req)) res.redirect(302, 'graphiql/'); // relative: also right behind a proxy that mounts the server under a path
    else next();
  });
  web.use('/thumbnails', mayRead);
  web.get('/thumbnails/:file', async (req, res) => {
    try {
      const id = fromGlobalId('Image', req.params.file.replace(/\.png$/, ''));
      const png = await app.services.images.thumbnail(id, Number(req.query.size ?? 256));
      res.type('png').set('Cache-Control', 'public, max-age=86400, immutable').send(png);
    } catch (e) {
      sendRouteError(res, e, 'thumbnail');
    }
  });
  // Deep-zoom tiles, IIIF Image API 3.0 level 1 (services/tile.service.ts); :id is the image's database id. Viewers
  // load info.json and tiles from other origins, so every answer here allows any origin.
  const origin = (req: express.Request) => `${req.protocol}://${req.get('host') ?? `localhost:${port}`}`;
  // A viewer sending its key from another origin asks first (CORS preflight, which carries no key): answered here.
  web.use('/iiif', (req, res, next) => {
    res.set({ 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'Authorization, X-Api-Key' });
    if (req.method === 'OPTIONS') res.status(204).end();
    else next();
  }, mayRead);
  web.get('/iiif/3/:id', (req, res) => {
    res.redirect(303, `${origin(req)}/iiif/3/${encodeURIComponent(req.params.id)}/info.json`);
  });
  web.get('/iiif/3/:id/info.json', async (req, res) => {
    try {
      const info = await app.services.tiles.info(req.params.id, origin(req));
      const ld = req.accepts(['application/json', 'application/ld+json']) === 'application/ld+json';
      res
        .type(ld ? `application/ld+json;profile="${IIIF_CONTEXT}"` : 'application/json')
        .set('Cache-Control', 'public, max-age=86400')
        .send(JSON.stringify(info));
    } catch (e) {
      sendRouteError(res, e, 'IIIF info');
    }
  });
  web.get('/iiif/3/:id/:region/:size/:rotation/:qualityFormat', async (req, res) => {
    try {
      const { id, region, size, rotation, qualityFormat } = req.params;
      const tile = await app.services.tiles.render(id, { region, size, rotation, ...splitQualityFormat(qualityFormat) }, { ifNoneMatch: req.get('if-none-match') });
      res.set({ ETag: tile.etag, 'Cache-Control': TILE_CACHE_CONTROL });
      if (tile.notModified) res.status(304).end();
      else res.type(tile.contentType).send(tile.body);
    } catch (e) {
      sendRouteError(res, e, 'IIIF tile');
    }
  });
  web.use(
    '/graphql',
    express.json({ limit: JSON_BODY_LIMIT }),
    // busboy marks a file of exactly maxFileSize bytes as cut off: one byte more, so that readUpload (resolvers/upload.ts)
    // takes a file of the limit and refuses one over it as PAYLOAD_TOO_LARGE
    multipartErrorsAreBadRequests(graphqlUploadExpress({ maxFileSize: app.config.maxUploadBytes + 1, maxFiles: 1 })),
    expressMiddleware(apollo, {
      context: async ({ req }) => createContext(app, `${req.protocol}://${req.get('host') ?? `localhost:${port}`}`, await principalOf(req)),
    }),
  );
  // Any other path: a typed 404, not Express's HTML page (issue 19).
  web.use((req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${echo(req.path)}` } });
  });
  // Last: oversized or malformed bodies answer JSON with a code, not Express's HTML page with a stack.
  web.use(jsonErrorHandler);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, resolve);
  });
  const actual = (httpServer.address() as { port: number }).port;
  return {
    url: `http://localhost:${actual}/graphql`,
    port: actual,
    anonymous,
    async stop() {
      await subscriptions.dispose();
      await apollo.stop();
    },
  };
}
