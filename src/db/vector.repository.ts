/**
 * All SQL that touches pgvector columns lives here (docs/adr/0002): histograms are `sparsevec` word counts, written
 * with `::sparsevec` casts and read back as `::text`. The text form is 1-based `{i:v,...}/dims`; BowVector ids are
 * 0-based.
 */
import type { WindowHit, WindowVector } from '../pipeline/index/embedding.ts';
import type { BowVector } from '../pipeline/types.ts';
import { type Image, Prisma as P } from './generated/client.ts';
import type { Prisma } from './database.ts';
import type { Tx } from './image.repository.ts';

/** pgvector's text form of a dense vector, `[0.1,-0.2,...]`. */
export function toVector(v: Float32Array): string {
  return `[${Array.from(v, (x) => (Math.abs(x) < 1e-9 ? 0 : x)).join(',')}]`;
}

/**
 * HNSW search breadth: pgvector's default ef_search is 40; a first stage keeps up to 100 windows per query vector
 * (FIRST_STAGE_WINDOWS in search.service.ts), and ef_search must be at least that for HNSW to return them.
 */
const EF_SEARCH = 100;

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
      // whole-slide images have no bag of words (they are searched by the vector first stage, by tile)
      where: { modalityId, pyramid: { equals: P.DbNull }, histograms: { none: { vocabularyId, x: null } } },
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

  /**
   * Replaces an image's first-stage vectors (docs/adr/0011) in `space`: one row per window, in one statement, inside
   * the caller's transaction, so an image is indexed wholly or not at all.
   */
  async replaceEmbeddings(tx: Tx, imageId: number, modalityId: number, space: string, windows: readonly WindowVector[]): Promise<void> {
    await tx.$executeRaw`DELETE FROM "Embedding" WHERE "imageId" = ${imageId}`;
    await this.addEmbeddings(tx, imageId, modalityId, space, windows);
  }

  /** Adds first-stage vectors of an image (a whole-slide image's tile at a time), in the caller's transaction. */
  async addEmbeddings(tx: Tx, imageId: number, modalityId: number, space: string, windows: readonly WindowVector[]): Promise<void> {
    if (windows.length === 0) return;
    await tx.$executeRaw`
      INSERT INTO "Embedding" ("imageId", "modalityId", space, x, y, side, "workingSide", vec)
      SELECT ${imageId}, ${modalityId}, ${space}, w.x, w.y, w.side, w.ws, w.v::vector
      FROM unnest(${windows.map((w) => w.x)}::int[], ${windows.map((w) => w.y)}::int[], ${windows.map((w) => w.side)}::int[],
                  ${windows.map((w) => w.workingSide ?? null)}::int[], ${windows.map((w) => toVector(w.vector))}::text[]) AS w(x, y, side, ws, v)`;
  }

  /**
   * The `k` windows nearest (cosine) to each of `vectors` among the images of a modality in `space`, by the HNSW index.
   * `sides[i]`: the working-pixel sides a whole-slide window must have to answer vector i (plain images' windows have
   * no known scale and always may).
   * The modality and space filter runs inside the index scan (pgvector 0.8 iterative scans), so a filter that keeps
   * few rows still returns k.
   */
  async nearestWindows(modalityId: number, space: string, vectors: readonly Float32Array[], k: number, sides?: readonly { min: number; max: number }[]): Promise<WindowHit<number>[]> {
    if (vectors.length === 0) return [];
    const rows = await this.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
      await tx.$executeRawUnsafe(`SET LOCAL hnsw.ef_search = ${Math.max(EF_SEARCH, k)}`);
      // The planner prices the HNSW scan against the row count it believes the filter keeps; without fresh statistics
      // (PGlite has no autovacuum, and a bulk ingestion outruns Postgres's) it believes a handful and sorts a
      // sequential scan instead: 22 s against 0.44 s for 224 query vectors (128,000 and 30,000 rows, PGlite; ADR 0011).
      await tx.$executeRawUnsafe(`SET LOCAL enable_seqscan = off`);
      // the query vectors are cast once (a cast inside the ORDER BY would parse them again for every row)
      return tx.$queryRaw<{ imageId: number; x: number; y: number; side: number; sim: number; ord: number }[]>`
        WITH q AS MATERIALIZED (
          SELECT v::vector(64) AS v, lo, hi, ord::int AS ord
          FROM unnest(${vectors.map(toVector)}::text[], ${vectors.map((_, i) => sides?.[i]?.min ?? null)}::float8[],
                      ${vectors.map((_, i) => sides?.[i]?.max ?? null)}::float8[]) WITH ORDINALITY AS t(v, lo, hi, ord))
        SELECT e."imageId", e.x, e.y, e.side, e.sim, q.ord
        FROM q CROSS JOIN LATERAL (
          SELECT "imageId", x, y, side, (1 - (vec <=> q.v))::float8 AS sim FROM "Embedding"
          WHERE "modalityId" = ${modalityId} AND space = ${space}
            AND ("workingSide" IS NULL OR q.lo IS NULL OR "workingSide" BETWEEN q.lo AND q.hi)
          ORDER BY vec <=> q.v LIMIT ${k}
        ) e`;
    });
    return rows.map((r) => ({ entryId: r.imageId, similarity: r.sim, window: { x: r.x, y: r.y, width: r.side, height: r.side }, query: r.ord - 1 }));
  }

  /**
   * Images of a modality with no first-stage vectors in `space` yet, oldest first, after `afterId`. Whole-slide images
   * are left out: their vectors come with their tiles (services/wsi.service.ts).
   */
  async imagesWithoutEmbeddings(modalityId: number, space: string, afterId: number, take: number): Promise<Image[]> {
    const ids = await this.prisma.$queryRaw<{ id: number }[]>`
      SELECT i.id FROM "Image" i
      WHERE i."modalityId" = ${modalityId} AND i.id > ${afterId} AND i.pyramid IS NULL
        AND NOT EXISTS (SELECT 1 FROM "Embedding" e WHERE e."imageId" = i.id AND e.space = ${space})
      ORDER BY i.id LIMIT ${take}`;
    return this.prisma.image.findMany({ where: { id: { in: ids.map((r) => r.id) } }, orderBy: { id: 'asc' } });
  }

  /** How many images of a modality have no first-stage vectors in `space`. */
  async countWithoutEmbeddings(modalityId: number, space: string): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM "Image" i
      WHERE i."modalityId" = ${modalityId} AND i.pyramid IS NULL
        AND NOT EXISTS (SELECT 1 FROM "Embedding" e WHERE e."imageId" = i.id AND e.space = ${space})`;
    return rows[0]?.n ?? 0;
  }

  /** How many images of a modality have first-stage vectors in `space`. */
  async embeddedImages(modalityId: number, space: string): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(DISTINCT "imageId")::int AS n FROM "Embedding" WHERE "modalityId" = ${modalityId} AND space = ${space}`;
    return rows[0]?.n ?? 0;
  }
}
