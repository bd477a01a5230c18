/**
 * A migration's own test: an in-memory PGlite (with pgvector) migrated up to just before one migration, so the test
 * can write the rows the migration must handle, then run it.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { applyMigrations, type Migration, readMigrations, type SqlRunner } from '../../src/db/migrate.ts';

export interface DatabaseBeforeMigration {
  db: PGlite;
  /** Applies every migration still pending (the one named and those after it), as a start-up does. */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

/** A fresh database with every migration before `name` applied; throws when `name` is not a migration after the first. */
export async function databaseBefore(name: string): Promise<DatabaseBeforeMigration> {
  const all: Migration[] = await readMigrations();
  const at = all.findIndex((m) => m.name === name);
  if (at <= 0) throw new Error(`${name} is not a migration after the first (migrations: ${all.map((m) => m.name).join(', ')})`);
  const db = await PGlite.create('memory://', { extensions: { vector } });
  const runner: SqlRunner = {
    exec: async (sql) => void (await db.exec(sql)),
    query: async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows,
  };
  try {
    await applyMigrations(runner, all.slice(0, at));
  } catch (e) {
    await db.close();
    throw e;
  }
  return { db, migrate: () => applyMigrations(runner, all), close: () => db.close() };
}
