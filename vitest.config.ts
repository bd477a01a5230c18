import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // PGlite start-up (~3 s, ../shared/guide/stack.md) and WASM compile make medium tests slower than unit tests.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores here: more workers only thrash (and each PGlite instance holds ~100 MB).
    maxWorkers: 2,
    reporters: ['default'],
  },
});
