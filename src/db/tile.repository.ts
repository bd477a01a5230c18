import type { Prisma } from './database.ts';
import type { Tile } from './generated/client.ts';
import type { Tx } from './image.repository.ts';

export type TileInput = Omit<Tile, 'id' | 'createdAt'>;

/** Plain data access for whole-slide tiles (their CoMIRs live in the file store). */
export class TileRepository {
  constructor(private readonly prisma: Prisma) {}

  create(tx: Tx, tile: TileInput): Promise<Tile> {
    return tx.tile.create({ data: tile });
  }

  /** Every tile of an image under one model version (the plan's boxes say which they are). */
  ofImage(imageId: number, modelVersion: string): Promise<Tile[]> {
    return this.prisma.tile.findMany({ where: { imageId, modelVersion }, orderBy: { id: 'asc' } });
  }

  /** Tiles of an image whose box (full-resolution pixels) intersects a rectangle. */
  intersecting(imageId: number, modelVersion: string, r: { x: number; y: number; width: number; height: number }): Promise<Tile[]> {
    return this.prisma.$queryRaw<Tile[]>`
      SELECT * FROM "Tile" WHERE "imageId" = ${imageId} AND "modelVersion" = ${modelVersion}
        AND x < ${r.x + r.width} AND x + width > ${r.x} AND y < ${r.y + r.height} AND y + height > ${r.y}`;
  }

  count(imageId: number, modelVersion?: string): Promise<number> {
    return this.prisma.tile.count({ where: { imageId, ...(modelVersion ? { modelVersion } : {}) } });
  }
}
