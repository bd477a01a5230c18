import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { isAppError } from '../errors.ts';
import { limitMessage, QUERY_LIMIT_SETTINGS, QUERY_TOO_COMPLEX, QueryLimitError, TOKEN_LIMIT_MESSAGE } from './limits.ts';

/**
 * Maps typed application errors to `extensions.code` (+ details) and masks everything else: an internal error's
 * message never reaches the client, it is logged instead.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (isAppError(original)) {
    return { ...formatted, message: original.message, extensions: { ...original.details, code: original.code } };
  }
  // A query over a limit (src/server/limits.ts): Apollo reports it as GRAPHQL_VALIDATION_FAILED or, for tokens,
  // GRAPHQL_PARSE_FAILED; clients get one code for all, and which limit it was.
  // (Duck-typed: Apollo's ValidationError may come from another copy of graphql than ours, ESM vs CommonJS.)
  const inner = (original as { originalError?: unknown } | null)?.originalError;
  const limitError = original instanceof QueryLimitError ? original : inner;
  if (limitError instanceof QueryLimitError) {
    return { message: limitError.message, locations: formatted.locations, extensions: { code: QUERY_TOO_COMPLEX, limit: limitError.limit, max: limitError.max, setting: QUERY_LIMIT_SETTINGS[limitError.limit] } };
  }
  const tokens = formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' ? TOKEN_LIMIT_MESSAGE.exec(formatted.message) : null;
  if (tokens) {
    const max = Number(tokens[1]);
    return { message: limitMessage(`Token limit of ${max} exceeded.`, 'tokens'), extensions: { code: QUERY_TOO_COMPLEX, limit: 'tokens', max, setting: QUERY_LIMIT_SETTINGS.tokens } };
  }
  if (formatted.extensions?.validationErrorCode === 'INTROSPECTION_DISABLED') {
    return {
      message: 'GraphQL introspection is off on this server (CMIR_INTROSPECTION=1 turns it on)',
      locations: formatted.locations,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' },
    };
  }
  const code = formatted.extensions?.code;
  // Apollo's own request errors (parse, validation, bad variables, CSRF) are safe to show as they are.
  if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
    const { stacktrace: _omit, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  // Apollo's own request errors that carry an HTTP 4xx but no code ("Unsupported persisted query version", "provided
  // sha does not match query"): the client's request is at fault, and the message is Apollo's (issue 19).
  const http = (original as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http?.status;
  if (formatted.path === undefined && typeof http === 'number' && http >= 400 && http < 500) {
    return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
  }
  const status = (original as { status?: number; statusCode?: number } | null)?.status;
  if (status === 413) return { message: (original as Error).message, path: formatted.path, extensions: { code: 'PAYLOAD_TOO_LARGE' } };
  console.error('[cmir] internal error:', original);
  return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
