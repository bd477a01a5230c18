import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { isAppError } from '../errors.ts';

/**
 * Maps typed application errors to `extensions.code` (+ details) and masks everything else: an internal error's
 * message never reaches the client, it is logged instead.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (isAppError(original)) {
    return { ...formatted, message: original.message, extensions: { ...original.details, code: original.code } };
  }
  const code = formatted.extensions?.code;
  // Apollo's own request errors (parse, validation, bad variables, CSRF) are safe to show as they are.
  if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
    const { stacktrace: _omit, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  const status = (original as { status?: number; statusCode?: number } | null)?.status;
  if (status === 413) return { message: (original as Error).message, path: formatted.path, extensions: { code: 'PAYLOAD_TOO_LARGE' } };
  console.error('[cmir] internal error:', original);
  return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
