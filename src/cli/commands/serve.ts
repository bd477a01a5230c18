import type { Command } from 'commander';
import { createApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { startServer } from '../../server/server.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve GraphQL at http://localhost:PORT/graphql (embedded database unless DATABASE_URL is set)')
    .option('--port <n>', 'TCP port (default 4000, or PORT)')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { port?: string; home?: string }) => {
      const config = loadConfig({ home: opts.home, port: opts.port });
      const app = await createApp(config);
      const server = await startServer(app, config.port);
      const where = app.db.kind === 'pglite' ? `embedded database in ${config.home}` : 'Postgres at DATABASE_URL';
      console.log(`cmir serving ${server.url} (${where})`);
      // whole-slide images whose tiling a stopped process left unfinished go on from their last stored tile
      const resumed = await app.services.wsi.resumePending();
      if (resumed.length > 0) console.log(`resumed the tiling of ${resumed.length} whole-slide image(s)`);
      const stop = async () => {
        await server.stop();
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
