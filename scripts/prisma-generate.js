// postinstall: generate the Prisma client into src/db/generated (not committed; it is derived from prisma/schema.prisma).
// Prisma 6 needs a syntactically valid postgresql:// DATABASE_URL even to generate, or it tries to download an engine
// (../shared/guide/stack.md); nothing connects to it.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
execFileSync(process.execPath, [cli, 'generate'], {
  stdio: 'inherit',
  env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL || 'postgresql://cmir@127.0.0.1:5432/cmir', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
