import type http from 'node:http';
import { createRequire } from 'node:module';
import type { DocumentNode, GraphQLError as GraphQLErrorType, GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { App } from '../app.ts';
import type { QueryLimits } from '../config.ts';
import { isAppError } from '../errors.ts';
import { type AnonymousAccess, authorize, keyFromHeaders, type Principal } from '../services/auth.ts';
import { createContext } from './context.ts';
import { formatError } from './format-error.ts';
import { queryLimitOptions } from './limits.ts';

/**
 * graphql as graphql-ws and @graphql-tools/schema load it: graphql 16 has no "exports", so Node gives packages its
 * CommonJS build, and graphql-ws accepts only errors of that copy (and graphql-js only schemas of it). A plain import
 * here is the same copy under Node, but the ES module build under vitest, which resolves "module" fields.
 */
const { getOperationAST, GraphQLError, NoSchemaIntrospectionCustomRule, parse, specifiedRules, validate } = createRequire(import.meta.url)(
  'graphql',
) as typeof import('graphql');

export interface SubscriptionSettings {
  anonymous: AnonymousAccess;
  /** CMIR_CORS_ORIGINS: the other origins whose pages may connect (docs/adr/0018). */
  corsOrigins: readonly string[];
  queryLimits: QueryLimits;
  introspection: boolean;
  port: number;
}

/**
 * GraphQL subscriptions over WebSocket at /graphql (the graphql-ws protocol, `graphql-transport-ws`), on the HTTP
 * server's port. Who the client is is settled once, when it connects, by the rule HTTP requests follow (docs/adr/0014):
 * the key from the connection's `connectionParams` (`authorization: "Bearer <key>"` or `x-api-key`, since browsers
 * cannot set headers on a WebSocket) or else the upgrade request's headers; a key that is invalid, or an anonymous
 * client where anonymous reads are off, is refused with close code 4403. So is a browser page of another origin than
 * this server's and those in CMIR_CORS_ORIGINS: CORS does not cover WebSockets, and with anonymous reads on a loopback
 * server any page a local browser opens could otherwise read the pushes. Only subscriptions are served here, under the
 * same query limits and introspection setting as HTTP; errors are formatted as over HTTP (format-error.ts).
 */
export function serveSubscriptions(httpServer: http.Server, schema: GraphQLSchema, app: App, settings: SubscriptionSettings): { dispose(): Promise<void> } {
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const principals = new WeakMap<object, Principal>();
  const rules = [
    ...specifiedRules,
    ...(queryLimitOptions(settings.queryLimits, settings.introspection).validationRules ?? []),
    ...(settings.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
  const format = (errors: readonly GraphQLErrorType[]) => errors.map((e) => formatError(e.toJSON(), e));
  const server = useServer(
    {
      schema,
      async onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
        const headers = ctx.extra.request.headers;
        // browsers always send Origin on a WebSocket; other clients (ws, curl) need not
        const origin = headers.origin;
        if (origin !== undefined && origin !== `http://${headers.host}` && origin !== `https://${headers.host}` && !settings.corsOrigins.includes(origin)) return false;
        try {
          const principal = await app.services.keys.authenticate(
            keyFromHeaders(text(params.authorization) ?? headers.authorization, text(params['x-api-key']) ?? text(headers['x-api-key'])),
            settings.anonymous,
          );
          authorize(principal, 'reader');
          principals.set(ctx.extra.socket, principal);
          return true;
        } catch (e) {
          if (isAppError(e)) return false;
          throw e;
        }
      },
      onSubscribe(ctx, _id, payload) {
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: settings.queryLimits.tokens });
        } catch (e) {
          return [e as GraphQLErrorType];
        }
        if (getOperationAST(document, payload.operationName)?.operation !== 'subscription') {
          return [new GraphQLError('only subscriptions are served over WebSocket: send queries and mutations over HTTP', { extensions: { code: 'BAD_REQUEST' } })];
        }
        const errors = validate(schema, document, rules);
        if (errors.length > 0) return errors;
        const host = ctx.extra.request.headers.host ?? `localhost:${settings.port}`;
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: createContext(app, `http://${host}`, principals.get(ctx.extra.socket)!),
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: format(result.errors) } : undefined),
      onError: (_ctx, _id, _payload, errors) => format(errors),
    },
    wss,
  );
  return {
    async dispose() {
      await server.dispose();
    },
  };
}
