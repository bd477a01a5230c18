import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from './generated/client.ts';
import { acquireLock, type Lock } from './lock.ts';
import { applyMigrations, type SqlRunner } from './migrate.ts';

export type Prisma = PrismaClient;

/** An open database: the Prisma client plus what is needed to close it. Embedded PGlite or a Postgres server. */
/**
 * Whether a Prisma error is a unique-constraint violation: the row another writer just created. P2002 for a constraint
 * on columns; a violated expression index reaches us as the driver adapter's error with Postgres' SQLSTATE 23505
 * (unique_violation) in its `cause`.
 */
export function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, cause } = e as { code?: string; cause?: { code?: string } };
  return code === 'P2002' || code === '23505' || cause?.code === '23505';
}

export interface Database {
  readonly prisma: PrismaClient;
  readonly kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Postgres server URL; when absent the embedded database is used. */
  databaseUrl?: string;
  /** Folder for the embedded database; `memory://` keeps it in memory (tests). */
  dataDir?: string;
}

/**
 * Opens the database and brings its schema up to date. The embedded database holds an exclusive lock on its folder,
 * since PGlite is a single in-process Postgres and two processes writing one folder would corrupt it.
 */
export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl);
  return openPGlite(opts.dataDir ?? 'memory://');
}

async function openPGlite(dataDir: string): Promise<Database> {
  let lock: Lock | undefined;
  if (!dataDir.startsWith('memory://')) {
    await mkdir(dataDir, { recursive: true });
    lock = await acquireLock(path.join(dataDir, '..', 'cmir.lock'));
  }
  try {
    const db = await PGlite.create(dataDir, { extensions: { vector } });
    const runner: SqlRunner = {
      exec: async (sql) => void (await db.exec(sql)),
      query: async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows,
    };
    await applyMigrations(runner);
    // pglite-prisma-adapter 0.6.1 bundles its own copy of @prisma/driver-adapter-utils whose types differ only
    // nominally from Prisma 6.19.3's; the runtime protocol is the same (used as documented by the adapter).
    const adapter = withBytesArgs(new PrismaPGlite(db)) as unknown as PrismaPg;
    const prisma = new PrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS });
    return {
      prisma,
      kind: 'pglite',
      async close() {
        await prisma.$disconnect();
        await db.close();
        await lock?.release();
      },
    };
  } catch (e) {
    await lock?.release();
    throw e;
  }
}

/**
 * How long an interactive transaction may wait to start (Prisma's default is 2 s). Measured: on 2 loaded cores
 * (.ci/run, 2026-12-03) an ingestion's transaction failed to start within 2 s while another request's large decode held
 * the event loop (the float conversion, pipeline/decode/decode.ts, runs on the main thread), so the image was refused
 * although nothing was wrong with it. 15 s covers that.
 * How long it may run (Prisma's default is 5 s): measured, an ingestion's transaction (its row and 300-600 first-stage
 * vectors into the HNSW index) took 5.3 s on 2 cores at load average 9 (bench:scale-retrieval on Postgres, 2026-12-03)
 * and the image was refused. The work inside is bounded by the image's windows (EMBEDDING_PARAMS.maxWindows); 60 s
 * leaves it room under load while a transaction that is really stuck still ends.
 */
const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 60_000 } as const;

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  // An idle client whose server connection ends (server restart, DROP DATABASE ... WITH (FORCE)) emits 'error' on the
  // pool; unhandled, that event would crash the process (node-postgres docs, "Pool: events"). The next checkout
  // reconnects, so it is only reported.
  pool.on('error', (err) => console.warn(`[cmir] postgres idle connection lost: ${err.message}`));
  const client = await pool.connect();
  try {
    await applyMigrations({
      exec: async (sql) => void (await client.query(sql)),
      query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    });
  } finally {
    client.release();
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), transactionOptions: TRANSACTION_OPTIONS });
  return {
    prisma,
    kind: 'postgres',
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

type Query = { args: unknown[]; argTypes?: ({ scalarType?: string } | undefined)[] };
type Queryable = { queryRaw(q: Query): Promise<unknown>; executeRaw(q: Query): Promise<unknown> };

/**
 * Prisma 6.19's query compiler sends `Bytes` arguments base64-encoded (argType scalarType "bytes"); adapter-pg
 * decodes them (its `mapArg`), pglite-prisma-adapter 0.6.1 does not and PGlite rejects them ("Invalid input for
 * bytea type", seen here). This wraps the adapter so both databases get Buffers.
 */
function withBytesArgs<F extends { connect(): Promise<unknown> }>(factory: F): F {
  const mapQuery = (q: Query): Query => ({
    ...q,
    args: q.args.map((a, i) => {
      if (q.argTypes?.[i]?.scalarType !== 'bytes') return a;
      if (typeof a === 'string') return Buffer.from(a, 'base64');
      if (Array.isArray(a)) return Buffer.from(a as number[]);
      return a;
    }),
  });
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const value = Reflect.get(t, prop, receiver);
        if (typeof value !== 'function') return value;
        if (prop === 'queryRaw' || prop === 'executeRaw') return (q: Query) => (value as Queryable['queryRaw']).call(t, mapQuery(q));
        if (prop === 'startTransaction' || prop === 'connect') {
          return async (...args: unknown[]) => wrap((await (value as (...a: unknown[]) => Promise<object>).apply(t, args)) as object);
        }
        return value.bind(t);
      },
    });
  return wrap(factory);
}
