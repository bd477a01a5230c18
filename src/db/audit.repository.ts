import type { AuditEvent, Prisma as P } from './generated/client.ts';
import type { Prisma } from './database.ts';
import type { Tx } from './image.repository.ts';

/** The audit trail (docs/adr/0014): append and read, never update or delete (a trigger refuses both). */
export class AuditRepository {
  constructor(private readonly prisma: Prisma) {}

  /** Appends one event; pass the transaction of the change it records. */
  append(tx: Tx, data: P.AuditEventUncheckedCreateInput): Promise<AuditEvent> {
    return tx.auditEvent.create({ data });
  }

  /** The events of these rows of one type, oldest first. */
  forTargets(targetType: string, ids: readonly number[]): Promise<AuditEvent[]> {
    return this.prisma.auditEvent.findMany({ where: { targetType, targetId: { in: [...ids] } }, orderBy: { id: 'asc' } });
  }

  /** The newest events first (all types), for `cmir audit`-like listings and tests. */
  latest(take: number): Promise<AuditEvent[]> {
    return this.prisma.auditEvent.findMany({ orderBy: { id: 'desc' }, take });
  }
}
