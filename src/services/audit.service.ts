import type { Prisma } from '../db/database.ts';
import type { AuditEvent, Prisma as P } from '../db/generated/client.ts';
import type { Tx } from '../db/image.repository.ts';
import type { AuditRepository } from '../db/audit.repository.ts';
import type { Actor } from './auth.ts';

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId: number | null;
  before?: unknown;
  after?: unknown;
}

/** JSON for a Json column: dates as ISO strings, undefined dropped; null stays SQL NULL. */
function json(value: unknown): P.InputJsonValue | undefined {
  if (value === undefined || value === null) return undefined;
  return JSON.parse(JSON.stringify(value)) as P.InputJsonValue;
}

/** The append-only audit trail (docs/adr/0014): one event per change, in the change's transaction where it has one. */
export class AuditService {
  constructor(
    private readonly prisma: Prisma,
    private readonly events: AuditRepository,
  ) {}

  /** Appends in the caller's transaction, so the change and its record commit or roll back together. */
  record(tx: Tx, actor: Actor, entry: AuditEntry): Promise<AuditEvent> {
    return this.events.append(tx, {
      actorKeyId: actor.keyId,
      actor: actor.name,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      before: json(entry.before),
      after: json(entry.after),
    });
  }

  /**
   * Appends after a change that ran in its own transactions (ingestion, jobs, model registration): the services that
   * do those commit in several steps, so the event follows the result instead of sharing one transaction.
   */
  recordAfter(actor: Actor, entry: AuditEntry): Promise<AuditEvent> {
    return this.record(this.prisma, actor, entry);
  }

  forTargets(targetType: string, ids: readonly number[]): Promise<AuditEvent[]> {
    return this.events.forTargets(targetType, ids);
  }
}
