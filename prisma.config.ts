/**
 * Prisma CLI configuration for authoring migrations against a real PostgreSQL server (never PGlite: the CLI
 * hangs after `migrate deploy` there, ../shared/guide/stack.md). Prisma 6.19.3 with its JS schema engine is the
 * last release that migrates offline here (docs/adr/0001-database.md).
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { defineConfig } from 'prisma/config';

// prisma/orm#27403: the JS schema engine cannot deserialize catalog types (name, char, int2vector, regproc, oidvector,
// aclitem, name[], int2vector[]) while migrating; read them as text.
for (const oid of [18, 19, 22, 24, 30, 194, 1002, 1003]) pg.types.setTypeParser(oid, (v: string) => v);

function poolConfig() {
  // adapter-pg gets discrete fields, not a connection string, or the shadow database becomes the real one (stack.md).
  const url = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5433/postgres');
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1) || 'postgres',
  };
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () => new PrismaPg(poolConfig()),
});
