import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { isAppError, UnauthenticatedError } from '../errors.ts';
import { authorize, KEY_HOWTO } from '../services/auth.ts';
import type { Context } from './context.ts';

/**
 * The operation-level half of the rule (docs/adr/0014), before any resolver runs: an invalid key is refused for every
 * operation, an anonymous request for every operation when CMIR_ANONYMOUS=none and for every mutation otherwise
 * (UNAUTHENTICATED, HTTP 401). Which role each mutation needs is checked per field (src/resolvers/mutation-roles.ts).
 */
export const authPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ contextValue, operation }) {
        try {
          const { principal } = contextValue;
          authorize(principal, 'reader');
          if (operation?.operation === 'mutation' && principal.kind === 'anonymous') {
            throw new UnauthenticatedError(`anonymous requests may run queries only; a mutation needs an API key: ${KEY_HOWTO}`);
          }
        } catch (e) {
          if (!isAppError(e)) throw e;
          throw new GraphQLError(e.message, { extensions: { ...e.details, code: e.code, http: { status: 401 } } });
        }
      },
    };
  },
};
