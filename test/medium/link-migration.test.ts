/**
 * Migration 20261203100000_link_identity (issue 23, docs/adr/0017): a database that already holds duplicate links
 * (the one CONFIRMED and two PROPOSED for one pair) keeps one link per (source, target, region), and the
 * unique index refuses another copy afterwards.
 */
import { describe, expect, test } from 'vitest';
import { TEST_BACKEND } from '../helpers/app.ts';
import { databaseBefore } from '../helpers/migrations.ts';

describe.runIf(TEST_BACKEND === 'pglite')('migration 20261203100000_link_identity', () => {
  test('duplicates: a decided link stays before PROPOSED ones, the latest decision first; then the index refuses a copy', async () => {
    const { db, migrate, close } = await databaseBefore('20261203100000_link_identity');
    try {
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
      await migrate();
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
      await close();
    }
  });
});
