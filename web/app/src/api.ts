/**
 * The dashboard's one way to the server: GraphQL over HTTP at ./graphql (JSON, or a multipart request for an upload),
 * with the API key of this tab. A request answered 401 / UNAUTHENTICATED asks for a key (the dialog in main.tsx) and
 * is sent again with it; every failure becomes an ApiError with a code and a message a person can act on.
 */

import { KEY_ITEM } from './first-page.ts';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The API key of this tab: kept in sessionStorage, so it lasts until the tab is closed. */
export const apiKey = {
  get(): string | null {
    return sessionStorage.getItem(KEY_ITEM);
  },
  set(key: string | null): void {
    if (key) sessionStorage.setItem(KEY_ITEM, key);
    else sessionStorage.removeItem(KEY_ITEM);
    keyListeners.forEach((l) => l());
  },
};
const keyListeners = new Set<() => void>();
export function onKeyChange(l: () => void): () => void {
  keyListeners.add(l);
  return () => keyListeners.delete(l);
}

/** Who asks the person for a key: set by the dialog; resolves with the key, or null when they cancel. */
let askForKey: ((reason: string) => Promise<string | null>) | null = null;
export function setKeyPrompt(prompt: typeof askForKey): void {
  askForKey = prompt;
}

export function authHeaders(): Record<string, string> {
  const key = apiKey.get();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

const UNREACHABLE = 'The cmir server does not answer: is `cmir serve` still running? This page asks again every 2 s; what you typed is kept.';

/** How often a page that lost the server asks /healthz whether it is back. */
export const RECONNECT_MS = 2000;

/**
 * Whether the server answers, as this tab last saw it: a request that fails on the network marks it gone, and then
 * /healthz (which needs no key) is asked every RECONNECT_MS until it answers; any answer marks it back. Listeners
 * (the banner, a review waiting to be saved again) hear both.
 */
export const connection = {
  down: null as Date | null,
  attempts: 0,
};
const connectionListeners = new Set<() => void>();
export function onConnectionChange(l: () => void): () => void {
  connectionListeners.add(l);
  return () => connectionListeners.delete(l);
}
let probe: ReturnType<typeof setTimeout> | null = null;
function markDown(): void {
  if (!connection.down) {
    connection.down = new Date();
    connection.attempts = 0;
    connectionListeners.forEach((l) => l());
  }
  probe ??= setTimeout(async function ask() {
    connection.attempts++;
    try {
      const res = await fetch('healthz', { cache: 'no-store' });
      if (res.ok) return markUp();
    } catch {
      // still gone
    }
    connectionListeners.forEach((l) => l());
    probe = setTimeout(ask, RECONNECT_MS);
  }, RECONNECT_MS);
}
function markUp(): void {
  if (probe) clearTimeout(probe);
  probe = null;
  if (!connection.down) return;
  connection.down = null;
  connectionListeners.forEach((l) => l());
}

/** One HTTP request, with failures mapped to ApiError (network: SERVER_UNREACHABLE, and the tab starts asking again). */
async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    const res = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...authHeaders() } });
    markUp();
    return res;
  } catch {
    markDown();
    throw new ApiError('SERVER_UNREACHABLE', UNREACHABLE);
  }
}

/** Sends a request; on 401 asks for a key (at most twice) and sends it again. */
async function withKey(make: () => Promise<Response>): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await make();
    if (res.status !== 401) return res;
    const body = await res.clone().json().catch(() => null);
    const message: string = body?.errors?.[0]?.message ?? body?.error?.message ?? 'This server needs an API key.';
    const hadKey = apiKey.get() !== null;
    if (attempt >= 2 || !askForKey) throw new ApiError('UNAUTHENTICATED', message);
    const key = await askForKey(hadKey ? `The key was refused (expired or revoked?): ${message}` : message);
    if (!key) throw new ApiError('UNAUTHENTICATED', message);
  }
}

export interface Upload {
  /** Where the file goes in the variables, e.g. "input.file". */
  path: string;
  file: File;
}

/** Runs a GraphQL operation and returns its data; errors throw ApiError with the server's code. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, upload?: Upload): Promise<T> {
  const res = await withKey(() => {
    if (!upload) {
      return send('graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ query, variables }) });
    }
    // GraphQL multipart request spec: operations, map, then the file; Apollo's CSRF prevention needs the header.
    const form = new FormData();
    form.append('operations', JSON.stringify({ query, variables: setPath(structuredClone(variables), upload.path, null) }));
    form.append('map', JSON.stringify({ 0: [`variables.${upload.path}`] }));
    form.append('0', upload.file, upload.file.name);
    return send('graphql', { method: 'POST', headers: { 'Apollo-Require-Preflight': 'true', Accept: 'application/json' }, body: form });
  });
  const body = await res.json().catch(() => null);
  if (!body) throw new ApiError(`HTTP_${res.status}`, `The server answered ${res.status} ${res.statusText} without GraphQL.`);
  const first = body.errors?.[0] ?? (body.error ? { message: body.error.message, extensions: { code: body.error.code } } : undefined);
  if (first) {
    const { code = `HTTP_${res.status}`, ...details } = first.extensions ?? {};
    throw new ApiError(String(code), messageFor(String(code), first.message), details);
  }
  return body.data as T;
}

function messageFor(code: string, message: string): string {
  if (code === 'FORBIDDEN') return `${message} (the key of this tab may not do this: use "API key" at the top right to enter another)`;
  return message;
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): Record<string, unknown> {
  const keys = dotted.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]] = value;
  return obj;
}

/**
 * A URL of this server that needs the key as an image source: as it is without a key, else fetched with the key and
 * given as a blob: URL (an <img> cannot send headers). The caller revokes it.
 */
export async function imageUrl(url: string): Promise<{ src: string; revoke(): void }> {
  if (!apiKey.get()) return { src: url, revoke() {} };
  const res = await withKey(() => send(url, {}));
  if (!res.ok) throw new ApiError(`HTTP_${res.status}`, `${url} answered ${res.status}`);
  const src = URL.createObjectURL(await res.blob());
  return { src, revoke: () => URL.revokeObjectURL(src) };
}
