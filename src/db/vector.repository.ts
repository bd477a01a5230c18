/**
 * All SQL that touches pgvector columns lives here (docs/adr/0002): histograms are `sparsevec` word counts, written
 * with `::sparsevec` casts and read back as `::text`. The text form is 1-based `{i:v,...}/dims`; BowVector ids are
 * 0-based.
 */
import type { BowVector } from '../pipeline/types.ts';
import type { Image } from './generated/client.ts';
import type { Prisma } from './database.ts';
import type { Tx } from './image.repository.ts';

/** `{1:2,5:1}/20000` from 0-based ids and counts. */
export function toSparsevec(bow: BowVector, dims: number): string {
  const parts = new Array<string>(bow.ids.length);
  for (let i = 0; i < bow.ids.length; i++) parts[i] = `${bow.ids[i] + 1}:${bow.counts[i]}`;
  return `{${parts.join(',')}}/${dims}`;
}

export function fromSparsevec(text: string): BowVector {
  const m = /^\{(.*)\}\/(\d+)$/.exec(text);
  if (!m) throw new Error(`not a sparsevec: ${text.slice(0, 40)}`);
  const body = m[1];
  if (body === '') return { ids: new Uint32Array(0), counts: new Float32Array(0) };
  const pairs = body.split(',');
  const ids = new Uint32Array(pairs.length);
  const counts = new Float32Array(pairs.length);
  for (let i = 0; i < pairs.length; i++) {
    const colon = pairs[i].indexOf(':');
    ids[i] = Number(pairs[i].slice(0, colon)) - 1;
    counts[i] = Number(pairs[i].slice(colon + 1));
  }
  return { ids, counts };
}

export interface HistogramInput {
  imageId: number;
  vocabularyId: number;
  bow: BowVector;
  vocabSize: number;
  nFeatures: number;
  wordMap: Buffer;
  grid: Record<string, unknown>;
}

export interface StoredHistogram {
  imageId: number;
  bow: BowVector;
}

export class VectorRepository {
  constructor(private readonly prisma: Prisma) {}

  /** Replaces the whole-image histogram of an image under a vocabulary. */
  async upsertHistogram(tx: Tx, h: HistogramInput): Promise<void> {
    await tx.$executeRaw`DELETE FROM "Histogram" WHERE "imageId" = ${h.imageId} AND "vocabularyId" = ${h.vocabularyId} AND x IS NULL`;
    await tx.$executeRaw`
      INSERT INTO "Histogram" ("imageId", "vocabularyId", bow, "nFeatures", "wordMap", grid)
      VALUES (${h.imageId}, ${h.vocabularyId}, ${toSparsevec(h.bow, h.vocabSize)}::sparsevec, ${h.nFeatures},
              ${h.wordMap}, ${JSON.stringify(h.grid)}::jsonb)`;
  }

  /** Every whole-image histogram of a vocabulary (to fill the in-memory inverted file). */
  async histograms(vocabularyId: number): Promise<StoredHistogram[]> {
    const rows = await this.prisma.$queryRaw<{ imageId: number; bow: string }[]>`
      SELECT "imageId", bow::text AS bow FROM "Histogram"
      WHERE "vocabularyId" = ${vocabularyId} AND x IS NULL ORDER BY "imageId"`;
    return rows.map((r) => ({ imageId: r.imageId, bow: fromSparsevec(r.bow) }));
  }

  async histogram(vocabularyId: number, imageId: number): Promise<StoredHistogram | null> {
    const rows = await this.prisma.$queryRaw<{ imageId: number; bow: string }[]>`
      SELECT "imageId", bow::text AS bow FROM "Histogram"
      WHERE "vocabularyId" = ${vocabularyId} AND "imageId" = ${imageId} AND x IS NULL`;
    return rows[0] ? { imageId: rows[0].imageId, bow: fromSparsevec(rows[0].bow) } : null;
  }

  /** Word maps of some images under a vocabulary (for re-ranking and localisation). */
  async wordMaps(vocabularyId: number, imageIds: readonly number[]): Promise<Map<number, Uint8Array>> {
    if (imageIds.length === 0) return new Map();
    const rows = await this.prisma.histogram.findMany({
      where: { vocabularyId, imageId: { in: [...imageIds] }, x: null },
      select: { imageId: true, wordMap: true },
    });
    return new Map(rows.flatMap((r) => (r.wordMap ? [[r.imageId, r.wordMap] as const] : [])));
  }

  /** Images of a modality that have no whole-image histogram under a vocabulary yet, oldest first. */
  imagesWithoutHistogram(vocabularyId: number, modalityId: number): Promise<Image[]> {
    return this.prisma.image.findMany({
      where: { modalityId, histograms: { none: { vocabularyId, x: null } } },
      orderBy: { id: 'asc' },
    });
  }

  /** Bytes the index of a vocabulary takes per image (histogram + word map), for benchmarks. */
  async bytesPerImage(vocabularyId: number): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ avg: number | null }[]>`
      SELECT avg(pg_column_size(bow) + coalesce(octet_length("wordMap"), 0))::float8 AS avg
      FROM "Histogram" WHERE "vocabularyId" = ${vocabularyId}`;
    return rows[0]?.avg ?? 0;
  }
}
