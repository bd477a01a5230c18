/**
 * Migration 20261203100000_link_identity (issue 23, docs/adr/0017): a database that already holds duplicate links
 * (the one CONFIRMED and two PROPOSED for one pair) keeps one link per (source, target, region), and the
 * unique index refuses another copy afterwards.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { describe, expect, test } from 'vitest';
import { applyMigrations, readMigrations, type SqlRunner } from '../../src/db/migrate.ts';
import { TEST_BACKEND } from '../helpers/app.ts';

describe.runIf(TEST_BACKEND === 'pglite')('migration 20261203100000_link_identity', () => {
  test('duplicates: a decided link stays before PROPOSED ones, the latest decision first; then the index refuses a copy', async () => {
    const db = await PGlite.create('memory://', { extensions: { vector } });
    try {
      const runner: SqlRunner = {
        exec: async (sql) => void (await db.exec(sql)),
        query: async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows,
      };
      const all = await readMigrations();
      const at = all.findIndex((m) => m.name === '20261203100000_link_identity');
      expect(at).toBeGreaterThan(0);
      await applyMigrations(runner, all.slice(0, at));
      await db.exec(`INSERT INTO "Modality" ("name") VALUES ('BF');
        INSERT INTO "Image" ("name", "modalityId", "width", "height", "channels", "bitDepth", "format", "byteSize", "sha256")
          SELECT 'i' || g, 1, 512, 512, 1, 8, 'png', 1, 'h' || g FROM generate_series(1, 3) g;`);
      const region = `'[[0,4],[512,4],[512,516],[0,516]]'`;
      // ids 1-7: three groups (1->2 with the region, 1->2 without a region, 3->2 with it) and one single link
      await db.exec(`INSERT INTO "Link" ("sourceId", "targetImageId", "transform", "region", "method", "status", "decidedAt") VALUES
        (1, 2, '{1,0,0,0,1,4}', ${region}, 'm', 'PROPOSED', NULL),
        (1, 2, '{1,0,0,0,1,4}', ${region}, 'm', 'CONFIRMED', now() - interval '1 day'),
        (1, 2, '{1,0,0,0,1,4}', ${region}, 'm', 'PROPOSED', NULL),
        (1, 2, '{1,0,0,0,1,4}', ${region}, 'm', 'REJECTED', now()),
        (1, 2, '{1,0,0,0,1,0}', NULL, 'm', 'PROPOSED', NULL),
        (1, 2, '{1,0,0,0,1,0}', NULL, 'm', 'PROPOSED', NULL),
        (3, 2, '{1,0,0,0,1,4}', ${region}, 'm', 'PROPOSED', NULL)`);
      await applyMigrations(runner, all);
      const kept = (await db.query<{ id: number; status: string }>(`SELECT "id", "status" FROM "Link" ORDER BY "id"`)).rows;
      expect(kept).toEqual([
        { id: 4, status: 'REJECTED' },
        { id: 5, status: 'PROPOSED' },
        { id: 7, status: 'PROPOSED' },
      ]);
      await expect(db.exec(`INSERT INTO "Link" ("sourceId", "targetImageId", "transform", "region", "method") VALUES (1, 2, '{1,0,0,0,1,0}', NULL, 'm')`)).rejects.toThrow(
        /Link_source_target_region_key/,
      );
    } finally {
      await db.close();
    }
  });
});
