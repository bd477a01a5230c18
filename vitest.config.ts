import { defineConfig } from 'vitest/config';

/**
 * Every test runs on the embedded database (PGlite). When CMIR_TEST_DATABASE_URL names a Postgres server with
 * pgvector (.ci/run starts one), the medium tiers (services and repositories) run a second time against it, each test
 * file on a fresh database of that server.
 */
const server = process.env.CMIR_TEST_DATABASE_URL;

export default defineConfig({
  test: {
    // PGlite start-up (~3 s, ../shared/guide/stack.md) and WASM compile make medium tests slower than unit tests.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores here: more workers only thrash (and each PGlite instance holds ~100 MB).
    maxWorkers: 2,
    projects: [
      { extends: true as const, test: { name: 'pglite', include: ['test/**/*.test.ts'], env: { CMIR_TEST_BACKEND: 'pglite' } } },
      ...(server
        ? [
            {
              extends: true as const,
              // links.test.ts too: idempotent linking under concurrent requests rests on a unique index, which only a
              // server with several connections really races
              test: { name: 'postgres', include: ['test/medium/**/*.test.ts', 'test/api/links.test.ts', 'test/api/slide-filters.test.ts'], env: { CMIR_TEST_BACKEND: 'postgres' } },
            },
          ]
        : []),
    ],
  },
});
