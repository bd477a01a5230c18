import type { Modality } from './generated/client.ts';
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

  findByName(name: string): Promise<Modality | null> {
    return this.prisma.modality.findUnique({ where: { name } });
  }

  create(name: string, defaults: ModalityDefaults): Promise<Modality> {
    return this.prisma.modality.create({ data: { name, ...defaults } });
  }

  upsertByName(tx: Tx, name: string, defaults: ModalityDefaults): Promise<Modality> {
    return tx.modality.upsert({ where: { name }, create: { name, ...defaults }, update: {} });
  }

  modelNames(ids: readonly number[]): Promise<Map<number, string>> {
    return this.prisma.modality
      .findMany({ where: { id: { in: [...ids] } }, select: { id: true, comirModel: { select: { name: true } } } })
      .then((rows) => new Map(rows.flatMap((r) => (r.comirModel ? [[r.id, r.comirModel.name] as const] : []))));
  }
}
