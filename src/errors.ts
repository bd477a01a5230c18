/**
 * Typed application errors. Every expected failure carries a stable `code`, which the GraphQL layer copies to
 * `extensions.code` and the CLI prints; anything else is masked as INTERNAL_SERVER_ERROR (src/server/format-error.ts).
 * Plain classes, no Apollo import, so services and the pure pipeline can throw them.
 */
import { isNodeType, toGlobalId } from './ids.ts';

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'UNSUPPORTED_IMAGE'
  | 'PAYLOAD_TOO_LARGE'
  | 'DUPLICATE_IMAGE'
  | 'CONFLICT'
  | 'DATABASE_LOCKED'
  | 'INDEX_NOT_READY'
  | 'MODEL_INVALID'
  | 'MODEL_UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'PREREQUISITES_MISSING'
  | 'RATE_LIMITED'
  | 'SERVER_BUSY';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The most characters of a client's input an error message (or its details) repeats (issue 19 part 5): enough for any
 * name the API accepts (modality names are at most 32, validateModalityName), small enough that a megabyte-long
 * argument does not come back whole in the answer, the logs and the audit trail.
 */
export const MAX_ECHO_CHARS = 200;

/** User input as an error shows it: cut to MAX_ECHO_CHARS, saying how long it was when it was cut. */
export function echo(value: string): string {
  return value.length <= MAX_ECHO_CHARS ? value : `${value.slice(0, MAX_ECHO_CHARS)}… (${value.length} characters)`;
}

/**
 * Whether a string, or any string or key of a JSON value, holds U+0000: Postgres stores no NUL in text or jsonb
 * (Prisma's error would reach the client as an internal error), so names and metadata with one are refused as input
 * (issue 19, test/api/hostile.test.ts).
 */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value !== null && typeof value === 'object') return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v));
  return false;
}

export class BadUserInputError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('BAD_USER_INPUT', message, details);
  }
}

/**
 * A request body that cannot be read to its end: a multipart upload cut off in its file part, found only when the
 * resolver reads the file (graphql-upload-minimal streams it). HTTP 400 and BAD_REQUEST, as the malformed bodies
 * caught before GraphQL runs (server/http-errors.ts). `extensions.http` is how a resolver error sets the status in
 * Apollo Server (graphql-js copies an original error's `extensions`; Apollo's errorNormalize.js takes `http` from them).
 */
export class BadRequestError extends AppError {
  readonly extensions = { http: { status: 400 } };
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('BAD_REQUEST', message, details);
  }
}

export class NotFoundError extends AppError {
  /**
   * `id` as the client named it: a row id (a number) of a type with global ids is shown as its API id (src/ids.ts),
   * never as the number (issue 23 item 4); a string (a name, an id from a URL) is shown as it was given.
   */
  constructor(kind: string, id: string | number) {
    const shown = echo(typeof id === 'number' && isNodeType(kind) ? toGlobalId(kind, id) : String(id));
    super('NOT_FOUND', `${kind} ${JSON.stringify(shown)} does not exist`, { kind, id: shown });
  }
}

export class UnsupportedImageError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('UNSUPPORTED_IMAGE', message, details);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('PAYLOAD_TOO_LARGE', message, details);
  }
}

/** `existingId` is the stored image's row id; the message and `extensions.existingId` give its API id. */
export class DuplicateImageError extends AppError {
  constructor(readonly existingId: number, sha256: string) {
    const id = toGlobalId('Image', existingId);
    super('DUPLICATE_IMAGE', `this file is already stored as image ${id}`, { existingId: id, sha256 });
  }
}

/** No key, or a key that is unknown or revoked, where the operation needs one (docs/adr/0014). */
export class UnauthenticatedError extends AppError {
  constructor(message: string) {
    super('UNAUTHENTICATED', message);
  }
}

/** A valid key whose role is below the one the operation needs; the message names that role. */
export class ForbiddenError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('FORBIDDEN', message, details);
  }
}

/**
 * What a command needs from the machine and does not find (`cmir train`: the Python interpreter or its modules); the
 * message names what to install.
 */
export class PrerequisitesMissingError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('PREREQUISITES_MISSING', message, details);
  }
}

/**
 * One message format for parameter errors (after sharp's `invalidParameterError`):
 * "Expected {expected} for {name} but received {actual} of type {typeof}".
 */
export function invalidParameter(name: string, expected: string, actual: unknown): BadUserInputError {
  const shown = typeof actual === 'string' ? JSON.stringify(echo(actual)) : echo(String(actual));
  return new BadUserInputError(`Expected ${expected} for ${name} but received ${shown} of type ${typeof actual}`, {
    parameter: name,
  });
}

/** An optional numeric parameter: null when absent, else checked against [min, max] (and integrality); `unit` names it. */
export function optionalInRange(name: string, value: number | null | undefined, min: number, max: number, unit: 'integer' | 'degrees' | 'fraction' | 'weight' | 'value'): number | null {
  if (value == null) return null;
  if (!Number.isFinite(value) || value < min || value > max || (unit === 'integer' && !Number.isInteger(value))) {
    const what = { integer: 'an integer', degrees: 'degrees', fraction: 'a fraction', weight: 'a weight', value: 'a value' }[unit];
    throw invalidParameter(name, `${what} between ${min} and ${max}`, value);
  }
  return value;
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/**
 * A request over its API key's rate (services/admission.service.ts, docs/adr/0024). `extensions.http` is read by
 * Apollo Server when a resolver throws (the answer's HTTP status and headers: 429 and Retry-After); the client sees
 * `extensions.code` and `retryAfterSeconds`.
 */
export class RateLimitedError extends AppError {
  readonly extensions: { http: { status: number; headers: Map<string, string> } };
  constructor(message: string, retryAfterSeconds: number) {
    super('RATE_LIMITED', message, { retryAfterSeconds });
    this.extensions = { http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) } };
  }
}

/** More searches than this server runs and queues (docs/adr/0024): 503 and Retry-After, answered at once. */
export class ServerBusyError extends AppError {
  readonly extensions: { http: { status: number; headers: Map<string, string> } };
  constructor(message: string, retryAfterSeconds: number) {
    super('SERVER_BUSY', message, { retryAfterSeconds });
    this.extensions = { http: { status: 503, headers: new Map([['retry-after', String(retryAfterSeconds)]]) } };
  }
}
