/**
 * Issue 19 part 5, input rules for modalities: names are case-insensitive (`BF` is `bf`), two first images of a new
 * modality ingested at once share the one modality (on Postgres they race on its creation), and an ingestion that may
 * not create a modality (createModality: false, a curator's) writes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { makeImage } from '../helpers/images.ts';
import { databaseBefore } from '../helpers/migrations.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

const modalityRows = () => app.db.prisma.modality.findMany({ orderBy: { id: 'asc' } });

describe(`modality names on ${TEST_BACKEND}`, () => {
  test('BF and bf are one modality: ingestion, lookups and the images filter ignore case', async () => {
    const a = await app.services.images.ingest({ data: await makeImage({ seed: 201 }), fileName: 'a.png', modality: 'BF' });
    const b = await app.services.images.ingest({ data: await makeImage({ seed: 202 }), fileName: 'b.png', modality: 'bf' });
    expect(b.modalityId).toBe(a.modalityId);
    expect((await app.services.modalities.getByName('bF')).name).toBe('BF');
    const page = await app.services.images.list({ modality: 'bf' }, {});
    expect(page.totalCount).toBe(2);
    expect((await modalityRows()).filter((m) => m.name.toLowerCase() === 'bf')).toHaveLength(1);
  });

  test('creating a modality that differs only in case is CONFLICT, naming the existing one', async () => {
    await app.services.modalities.create({ name: 'NIR' });
    await expect(app.services.modalities.create({ name: 'nir' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/nir already exists as NIR.*case-insensitive/),
      details: { name: 'nir', existing: 'NIR' },
    });
    await expect(app.services.modalities.create({ name: 'NIR' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  test('the database itself refuses a second spelling (unique index on lower(name)), whoever inserts it', async () => {
    await app.services.modalities.create({ name: 'Raman' });
    // (the PGlite adapter reports raw-query errors without Postgres' message; the migration's test below reads it)
    await expect(app.db.prisma.$executeRaw`INSERT INTO "Modality" ("name") VALUES ('RAMAN')`).rejects.toThrow();
    expect((await modalityRows()).filter((m) => m.name.toLowerCase() === 'raman').map((m) => m.name)).toEqual(['Raman']);
  });

  test('two first images of a new modality ingested at once both succeed, with the same modality', async () => {
    const [x, y] = await Promise.all([
      app.services.images.ingest({ data: await makeImage({ seed: 211 }), fileName: 'x.png', modality: 'FRESH' }),
      app.services.images.ingest({ data: await makeImage({ seed: 212 }), fileName: 'y.png', modality: 'fresh' }),
    ]);
    expect(x.modalityId).toBe(y.modalityId);
    expect((await modalityRows()).filter((m) => m.name.toLowerCase() === 'fresh')).toHaveLength(1);
  });

  test('many first images of new modalities at once: each modality is created once', async () => {
    const names = ['R1', 'R2', 'R3'];
    const images = await Promise.all(
      names.flatMap((name, i) => [0, 1, 2].map(async (j) => app.services.images.ingest({ data: await makeImage({ seed: 300 + i * 10 + j }), fileName: `${name}-${j}.png`, modality: name }))),
    );
    for (const [i, name] of names.entries()) {
      const ids = new Set(images.slice(i * 3, i * 3 + 3).map((im) => im.modalityId));
      expect(ids.size).toBe(1);
      expect((await app.services.modalities.getByName(name)).id).toBe([...ids][0]);
    }
  });

  test('createModality: false refuses an unknown modality with FORBIDDEN naming the admin role, and writes nothing', async () => {
    const before = { images: await app.db.prisma.image.count(), modalities: (await modalityRows()).length };
    const err = await app.services.images
      .ingest({ data: await makeImage({ seed: 221 }), fileName: 'c.png', modality: 'UNKNOWN', createModality: false })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/admin role/), details: { requiredRole: 'admin', modality: 'UNKNOWN' } });
    expect(await app.db.prisma.image.count()).toBe(before.images);
    expect((await modalityRows()).length).toBe(before.modalities);
    // an existing modality, in any case, is fine without the right to create one
    const ok = await app.services.images.ingest({ data: await makeImage({ seed: 222 }), fileName: 'd.png', modality: 'nir', createModality: false });
    expect(ok.modalityId).toBe((await app.services.modalities.getByName('NIR')).id);
  });
});

describe.runIf(TEST_BACKEND === 'pglite')('migration 20261203000000_modality_name_ci', () => {
  test('a database holding two spellings of one modality stops the migration with the names to merge', async () => {
    const { db, migrate, close } = await databaseBefore('20261203000000_modality_name_ci');
    try {
      await db.exec(`INSERT INTO "Modality" ("name") VALUES ('BF'), ('bf'), ('SHG')`);
      await expect(migrate()).rejects.toThrow(/differ only in case \('BF', 'bf'\)/);
      await db.exec(`UPDATE "Modality" SET "name" = 'BF-2' WHERE "name" = 'bf'`);
      await migrate();
      await expect(db.exec(`INSERT INTO "Modality" ("name") VALUES ('shg')`)).rejects.toThrow(/Modality_name_lower_key/);
    } finally {
      await close();
    }
  });
});
