import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRepository } from '../db/api-key.repository.ts';
import type { Prisma } from '../db/database.ts';
import type { ApiKey } from '../db/generated/client.ts';
import { AppError, containsNul, invalidParameter, NotFoundError } from '../errors.ts';
import type { AuditService } from './audit.service.ts';
import { type Actor, type AnonymousAccess, isRole, type Principal, ROLES, type Role } from './auth.ts';

/** Marks a string as a cmir key (as GitHub's `ghp_`), so secret scanners and people recognise one. */
export const KEY_PREFIX = 'cmir_';
/** 32 random bytes (256 bits) from the OS CSPRNG: far beyond guessing, which is why one SHA-256 suffices (ADR 0014). */
const KEY_BYTES = 32;
/** Characters of the key kept in clear (KEY_PREFIX + 7 of the random part): enough to tell keys apart, ~42 bits. */
const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 7;
/** lastUsedAt is written at most once a minute per key: `keys list` needs no finer resolution, and reads stay reads. */
const LAST_USED_RESOLUTION_MS = 60_000;
/** The name of the key printed at the first start of a home without keys. */
export const FIRST_ADMIN_NAME = 'admin';

/** SHA-256 hex of the whole key: what the table stores and what a request's key is looked up by. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface CreatedKey {
  key: ApiKey;
  /** The key itself: shown once, never stored. */
  secret: string;
}

/** API keys: created (shown once), listed without secrets, revoked, and checked for each request. */
export class KeyService {
  constructor(
    private readonly prisma: Prisma,
    private readonly keys: ApiKeyRepository,
    private readonly audit: AuditService,
  ) {}

  async create(name: string, role: string, actor: Actor): Promise<CreatedKey> {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 100 || containsNul(trimmed)) throw invalidParameter('name', 'a name of 1 to 100 characters, without U+0000 (NUL)', name);
    if (/^\d+$/.test(trimmed)) throw invalidParameter('name', 'a name that is not a number (numbers are key ids)', name);
    if (!isRole(role)) throw invalidParameter('role', ROLES.join(', '), role);
    if (await this.keys.findByName(trimmed)) throw new AppError('CONFLICT', `a key named ${JSON.stringify(trimmed)} exists`, { name: trimmed });
    const secret = KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
    try {
      const key = await this.prisma.$transaction(async (tx) => {
        const key = await this.keys.create(tx, { name: trimmed, role, prefix: secret.slice(0, SHOWN_PREFIX_LENGTH), hash: hashKey(secret) });
        await this.audit.record(tx, actor, { action: 'createApiKey', targetType: 'ApiKey', targetId: key.id, after: publicKey(key) });
        return key;
      });
      return { key, secret };
    } catch (e) {
      // two creations of one name at once: the unique index decides
      if ((e as { code?: string }).code === 'P2002') throw new AppError('CONFLICT', `a key named ${JSON.stringify(trimmed)} exists`, { name: trimmed });
      throw e;
    }
  }

  list(): Promise<ApiKey[]> {
    return this.keys.list();
  }

  /** Finds a key by its id (a number) or its name. */
  async find(idOrName: string | number): Promise<ApiKey> {
    const asId = typeof idOrName === 'number' ? idOrName : /^\d+$/.test(idOrName) ? Number(idOrName) : null;
    const key = asId !== null ? await this.keys.findById(asId) : await this.keys.findByName(String(idOrName));
    if (!key) throw new NotFoundError('ApiKey', idOrName);
    return key;
  }

  /** Revokes a key: every later request with it is UNAUTHENTICATED. Revoking a revoked key changes nothing. */
  async revoke(idOrName: string | number, actor: Actor): Promise<ApiKey> {
    const key = await this.find(idOrName);
    if (key.revokedAt) return key;
    return this.prisma.$transaction(async (tx) => {
      const revoked = await this.keys.revoke(tx, key.id);
      await this.audit.record(tx, actor, { action: 'revokeApiKey', targetType: 'ApiKey', targetId: key.id, before: publicKey(key), after: publicKey(revoked) });
      return revoked;
    });
  }

  /**
   * What a request presented. No key: anonymous, with what anonymous requests may do here. A key that is malformed,
   * unknown or revoked: invalid (UNAUTHENTICATED), never anonymous.
   */
  async authenticate(presented: { key: string } | { malformed: string } | undefined, anonymous: AnonymousAccess): Promise<Principal> {
    if (presented === undefined) return { kind: 'anonymous', access: anonymous };
    if ('malformed' in presented) return { kind: 'invalid', reason: presented.malformed };
    const key = await this.keys.findByHash(hashKey(presented.key));
    if (!key) return { kind: 'invalid', reason: 'unknown API key' };
    if (key.revokedAt) return { kind: 'invalid', reason: `API key "${key.name}" was revoked` };
    if (!isRole(key.role)) return { kind: 'invalid', reason: `API key "${key.name}" has no valid role` };
    const now = new Date();
    await this.keys.touch(key.id, now, new Date(now.getTime() - LAST_USED_RESOLUTION_MS));
    return { kind: 'key', role: key.role as Role, actor: { keyId: key.id, name: key.name } };
  }

  /**
   * At the first start of a home without any key (revoked ones count): creates an admin key and returns its secret,
   * to be printed once. Null when the home has keys, so later starts print nothing.
   */
  async firstAdminKey(actor: Actor): Promise<CreatedKey | null> {
    if ((await this.keys.count()) > 0) return null;
    try {
      return await this.create(FIRST_ADMIN_NAME, 'admin', actor);
    } catch (e) {
      // another process on a shared Postgres created it first
      if (e instanceof AppError && e.code === 'CONFLICT') return null;
      throw e;
    }
  }
}

/** A key's row without its hash: what the audit trail and listings show. */
export function publicKey(key: ApiKey): Omit<ApiKey, 'hash'> {
  const { hash: _hash, ...rest } = key;
  return rest;
}
