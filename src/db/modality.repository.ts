import type { ComirModel, Modality } from './generated/client.ts';
import type { Prisma } from './database.ts';
import type { Tx } from './image.repository.ts';

export interface ModalityDefaults {
  channels: number;
  normalization: string;
}

export class ModalityRepository {
  constructor(private readonly prisma: Prisma) {}

  findAll(): Promise<Modality[]> {
    return this.prisma.modality.findMany({ orderBy: { name: 'asc' }, include: { comirModel: true } });
  }

  findById(id: number): Promise<Modality | null> {
    return this.prisma.modality.findUnique({ where: { id } });
  }

  findManyByIds(ids: readonly number[]): Promise<Modality[]> {
    return this.prisma.modality.findMany({ where: { id: { in: [...ids] } } });
  }

  /**
   * The modality of this name in any case (`bf` finds `BF`): names are unique case-insensitively (the index
   * "Modality_name_lower_key" on lower(name), migration 20261203000000_modality_name_ci, which this query uses).
   */
  async findByName(name: string, db: Tx | Prisma = this.prisma): Promise<(Modality & { comirModel: ComirModel | null }) | null> {
    const rows = await db.$queryRaw<{ id: number }[]>`SELECT "id" FROM "Modality" WHERE lower("name") = lower(${name})`;
    return rows[0] ? db.modality.findUnique({ where: { id: rows[0].id }, include: { comirModel: true } }) : null;
  }

  /** A new modality; a name taken in any case is a unique violation (P2002), which the service reports. */
  create(name: string, defaults: ModalityDefaults): Promise<Modality> {
    return this.prisma.modality.create({ data: { name, ...defaults } });
  }

  /**
   * The modality of this name (in any case), created with `defaults` when there is none. Safe when two transactions
   * create the same new modality at once (two first images of it ingested concurrently on Postgres): the INSERT of the
   * second waits for the first and does nothing, and the read after it (a new snapshot under READ COMMITTED) finds the
   * first's row, so both use the one modality instead of one failing with a unique violation.
   */
  async findOrCreate(tx: Tx, name: string, defaults: ModalityDefaults): Promise<Modality> {
    await tx.$executeRaw`
      INSERT INTO "Modality" ("name", "channels", "normalization") VALUES (${name}, ${defaults.channels}, ${defaults.normalization})
      ON CONFLICT DO NOTHING`;
    const row = await this.findByName(name, tx);
    if (!row) throw new Error(`modality ${name}: neither inserted nor found`); // unreachable: the insert or a conflict made it
    return row;
  }

  /** Sets a modality's model fields (model registration). */
  update(tx: Tx, id: number, data: Partial<ModalityDefaults> & { comirModelId?: number | null; comirNetwork?: string | null }): Promise<Modality> {
    return tx.modality.update({ where: { id }, data });
  }

  modelNames(ids: readonly number[]): Promise<Map<number, string>> {
    return this.prisma.modality
      .findMany({ where: { id: { in: [...ids] } }, select: { id: true, comirModel: { select: { name: true } } } })
      .then((rows) => new Map(rows.flatMap((r) => (r.comirModel ? [[r.id, r.comirModel.name] as const] : []))));
  }
}
