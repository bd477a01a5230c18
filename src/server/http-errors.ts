import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { isAppError } from '../errors.ts';

/** The body size express.json accepts on /graphql (uploads are multipart, limited by CMIR_MAX_UPLOAD_BYTES instead). */
export const JSON_BODY_LIMIT = '1mb';

/**
 * Express's last error handler: errors raised before Apollo (body-parser's 413 and malformed JSON, the multipart
 * parser's limits) would otherwise answer Express's HTML page, with the stack and server paths outside production.
 * /graphql answers a GraphQL-shaped body (`errors[0].extensions.code`), the other routes their own
 * `{ error: { code, message } }`; never a stack.
 */
export const jsonErrorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const e = (err ?? {}) as { status?: number; statusCode?: number; type?: string; expose?: boolean; message?: string; limit?: number };
  const raw = e.status ?? e.statusCode;
  const status = typeof raw === 'number' && raw >= 400 && raw < 600 ? raw : 500;
  let code: string;
  let message: string;
  if (status === 413) {
    code = 'PAYLOAD_TOO_LARGE';
    message = e.type === 'entity.too.large' ? `the request body exceeds the limit of ${JSON_BODY_LIMIT}` : (e.expose && e.message) || 'the request is too large';
  } else if (e.type === 'entity.parse.failed') {
    code = 'BAD_REQUEST';
    message = 'the request body is not valid JSON';
  } else if (status < 500) {
    code = 'BAD_REQUEST';
    message = (e.expose && e.message) || 'bad request';
  } else {
    console.error('[cmir] HTTP error:', err);
    code = 'INTERNAL_SERVER_ERROR';
    message = 'Internal server error';
  }
  const graphql = req.originalUrl.split('?')[0]!.startsWith('/graphql');
  res.status(status).json(graphql ? { errors: [{ message, extensions: { code } }] } : { error: { code, message } });
};

/**
 * The multipart parser (graphql-upload-minimal over busboy) passes a malformed body on as a plain Error without a
 * status ("Unexpected end of form"), which would read as a 500: it is the client's request that is wrong.
 */
export function multipartErrorsAreBadRequests(upload: RequestHandler): RequestHandler {
  return (req, res, next) => {
    // graphql-upload-minimal 1.6 listens `once` for its busboy parser's errors, then destroys the parser, whose
    // _destroy emits a second error ("Unexpected end of form" after "Malformed part header", e.g. a NUL in a file
    // name) with no listener left: an uncaught exception that ends the process (issue 19, test/api/hostile.test.ts).
    // The first error still reaches the request (BAD_REQUEST); later ones of the same body are dropped here.
    const pipe = req.pipe.bind(req);
    req.pipe = ((destination, options) => {
      destination.on('error', () => undefined);
      return pipe(destination, options);
    }) as typeof req.pipe;
    upload(req, res, (err?: unknown) => {
      if (err === undefined || err === null || err === 'route' || err === 'router') {
        next(err as undefined);
        return;
      }
      const e = err as { status?: number; statusCode?: number; message?: string };
      if (e.status !== undefined || e.statusCode !== undefined) {
        next(err);
        return;
      }
      next(Object.assign(new Error(`malformed multipart request: ${e.message ?? String(err)}`), { status: 400, expose: true }));
    });
  };
}

/** HTTP statuses of the typed errors a route answers other than 400. */
const ROUTE_STATUS = { NOT_FOUND: 404, UNAUTHENTICATED: 401, FORBIDDEN: 403 } as const;

/**
 * The answer of a non-GraphQL route (thumbnails, IIIF) to an error: an AppError as `{ error: { code, message } }`
 * with 404 for NOT_FOUND, 401 for UNAUTHENTICATED, 403 for FORBIDDEN and 400 for the rest (the client's request or file is at fault); anything else is logged and
 * masked as a 500, never with a stack.
 */
export function sendRouteError(res: Response, e: unknown, what: string): void {
  if (isAppError(e)) {
    const status = (ROUTE_STATUS as Record<string, number>)[e.code] ?? 400;
    res.status(status).json({ error: { code: e.code, message: e.message } });
  } else {
    console.error(`[cmir] ${what} failed:`, e);
    res.status(500).json({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } });
  }
}
