import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The project's root folder (the one holding cmir's package.json) and cmir's version. Files the code reads at run time (the GraphQL
 * schema, migrations, the shipped models, the training scripts) are found from it, not from the module's own folder,
 * because the same module runs from `src/` (tsx, vitest) and bundled into `dist/` (the compiled CLI, docs/adr/0019),
 * where its folder is another one.
 */
export const { root: PROJECT_ROOT, version: PACKAGE_VERSION } = findRoot(import.meta.dirname);

function findRoot(from: string): { root: string; version: string } {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    const pkg = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string }) : undefined;
    if (pkg?.name === 'cmir') return { root: dir, version: pkg.version };
    if (path.dirname(dir) === dir) throw new Error(`cmir's package.json not found above ${from}`);
  }
}
