import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type App, createApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';

/** Which database the medium tests run on: embedded PGlite (default) or the server in CMIR_TEST_DATABASE_URL. */
export const TEST_BACKEND: 'postgres' | 'pglite' =
  process.env.CMIR_TEST_BACKEND === 'postgres' && process.env.CMIR_TEST_DATABASE_URL ? 'postgres' : 'pglite';

/**
 * A new, empty database on the Postgres server at `serverUrl` (each test file, or each crash test home, gets its own),
 * named `cmir_test_<random>` (CMIR_TEST_DB_PREFIX replaces `cmir_test_` on a server shared with other work).
 */
export async function freshServerDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const prefix = process.env.CMIR_TEST_DB_PREFIX || 'cmir_test_';
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`CMIR_TEST_DB_PREFIX must be a lower-case SQL identifier, not ${prefix}`);
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestApp extends App {
  home: string;
}

/**
 * A fresh cmir for one test file: a new temporary home (file store, caches) and a new, empty, migrated database
 * (in-memory PGlite, or a new database on the Postgres server).
 */
export async function createTestApp(overrides: Partial<Config> = {}): Promise<TestApp> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'cmir-test-'));
  const server = TEST_BACKEND === 'postgres' ? await freshServerDatabase(process.env.CMIR_TEST_DATABASE_URL!) : undefined;
  // No CoMIR models unless a test asks for them (modelsDir), so modalities stay raw and tests stay fast.
  // No admission limits either (docs/adr/0024): test files send bursts of searches and uploads from one key faster
  // than any person; test/unit/admission.test.ts and test/api/admission.test.ts set their own.
  const admission = { searchesPerMinute: 0, uploadsPerMinute: 0, searchConcurrency: 64, searchQueue: 64 };
  const config: Config = { ...loadConfig({ home }, {}), databaseUrl: server?.url, modelsDir: path.join(home, 'no-models'), admission, ...overrides };
  const app = await createApp(config, { memory: !server });
  return {
    ...app,
    home,
    async close() {
      await app.close();
      await server?.drop();
      await rm(home, { recursive: true, force: true });
    },
  };
}
