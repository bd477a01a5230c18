/**
 * The GraphQL API without HTTP: the server's own Apollo configuration, operations sent with `executeOperation` as
 * one principal (docs/adr/0014: mutations need a key, so by default a fresh admin key of the app's).
 */
import type { ApolloServer } from '@apollo/server';
import type { App } from '../../src/app.ts';
import { type Context, createContext } from '../../src/server/context.ts';
import { createApolloServer } from '../../src/server/server.ts';
import type { Principal } from '../../src/services/auth.ts';
import { principalFor } from './auth.ts';

/** A single (not incremental) response's body. */
export interface OperationResult {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface TestApi {
  server: ApolloServer<Context>;
  principal: Principal;
  /** Runs one operation as `principal`; base URL http://test. */
  run(query: string, variables?: Record<string, unknown>): Promise<OperationResult>;
  stop(): Promise<void>;
}

/** An Apollo server over `app`, sending as `principal` (default: a fresh admin key's). */
export async function createTestApi(app: App, principal?: Principal): Promise<TestApi> {
  const as = principal ?? (await principalFor(app));
  const server = await createApolloServer();
  return {
    server,
    principal: as,
    async run(query, variables = {}) {
      const res = await server.executeOperation({ query, variables }, { contextValue: createContext(app, 'http://test', as) });
      if (res.body.kind !== 'single') throw new Error('expected a single result');
      return res.body.singleResult as OperationResult;
    },
    stop: () => server.stop(),
  };
}
