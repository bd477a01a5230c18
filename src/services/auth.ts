import os from 'node:os';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';

/**
 * Roles, weakest first (docs/adr/0014): reader (every query), curator (ingest, slides, links and their review),
 * admin (models, modalities, vocabularies, reindexing, keys, deleting images). Each role includes the ones before it.
 */
export const ROLES = ['reader', 'curator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether a key of role `have` may do what needs `need` (admin ⊇ curator ⊇ reader). */
export function roleIncludes(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

import type { AnonymousAccess } from '../config.ts';

export type { AnonymousAccess };

/** Who acted: written into the audit trail and onto links (createdBy, decidedBy). Never taken from the client. */
export interface Actor {
  /** The API key's id; null for the command line and anonymous requests. */
  keyId: number | null;
  /** The key's name, `cli:<os user>` or `anonymous`. */
  name: string;
}

export const ANONYMOUS: Actor = { keyId: null, name: 'anonymous' };

/** The command line acts on the home directly, as its operator: no key, named after the OS user when there is one. */
export function cliActor(): Actor {
  let user = '';
  try {
    user = os.userInfo().username;
  } catch {
    // a container's uid without a passwd entry: userInfo() throws
  }
  return { keyId: null, name: user ? `cli:${user}` : 'cli' };
}

/** What a request presented: a valid key, nothing, or a key that is unknown, revoked or malformed. */
export type Principal =
  | { kind: 'key'; actor: Actor; role: Role }
  | { kind: 'anonymous'; access: AnonymousAccess }
  | { kind: 'invalid'; reason: string };

export const KEY_HOWTO = 'send a key as "Authorization: Bearer <key>" or "X-Api-Key: <key>" (cmir keys create)';

/**
 * The one authorisation rule: returns the actor when the principal may do what needs `need`, else throws
 * UNAUTHENTICATED (no usable key) or FORBIDDEN (a key whose role is too low; the message names the role needed).
 * A key that is unknown or revoked is never treated as anonymous.
 */
export function authorize(principal: Principal, need: Role): Actor {
  switch (principal.kind) {
    case 'invalid':
      throw new UnauthenticatedError(principal.reason);
    case 'anonymous':
      if (need === 'reader' && principal.access === 'read') return ANONYMOUS;
      throw new UnauthenticatedError(
        need === 'reader' ? `this server answers no anonymous requests: ${KEY_HOWTO}` : `this operation needs a key with the ${need} role: ${KEY_HOWTO}`,
      );
    case 'key':
      if (!roleIncludes(principal.role, need)) {
        throw new ForbiddenError(`this operation needs the ${need} role; key "${principal.actor.name}" has the ${principal.role} role`, {
          requiredRole: need,
          role: principal.role,
        });
      }
      return principal.actor;
  }
}

/** The actor of an authorised principal (call after `authorize`): the key's, else anonymous. */
export function actorOf(principal: Principal): Actor {
  return principal.kind === 'key' ? principal.actor : ANONYMOUS;
}

/** The key a request carries: `Authorization: Bearer <key>`, else `X-Api-Key`; undefined when it sends neither. */
export function keyFromHeaders(authorization: string | undefined, xApiKey: string | undefined): { key: string } | { malformed: string } | undefined {
  if (authorization !== undefined && authorization !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return m ? { key: m[1]! } : { malformed: 'the Authorization header must be "Bearer <key>"' };
  }
  if (xApiKey !== undefined && xApiKey !== '') return { key: xApiKey.trim() };
  return undefined;
}

/** Loopback hosts: a server bound to one is reachable from this machine only, so anonymous reads are the default. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
