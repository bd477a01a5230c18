import type { Command } from 'commander';
import { createApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { recordServer } from '../../db/lock.ts';
import { startServer } from '../../server/server.ts';
import { cliActor } from '../../services/auth.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve GraphQL at http://localhost:PORT/graphql (embedded database unless DATABASE_URL is set)')
    .option('--port <n>', 'TCP port (default 4000, or PORT)')
    .option('--host <address>', 'address to bind (default 127.0.0.1, this machine only, or CMIR_HOST); 0.0.0.0 serves the network, where requests need a key')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { port?: string; host?: string; home?: string }) => {
      const config = loadConfig({ home: opts.home, port: opts.port, host: opts.host });
      const app = await createApp(config);
      // The first start of a home without keys creates an admin key and prints it, this once (docs/adr/0014).
      const first = await app.services.keys.firstAdminKey(cliActor());
      if (first) {
        console.log(
          `no API keys in this home yet: created the admin key "${first.key.name}". It is printed this once and never again; store it now:\n\n    ${first.secret}\n\n` +
            'send it as "Authorization: Bearer <key>"; `cmir keys create --name N --role reader|curator|admin` makes more',
        );
      }
      const server = await startServer(app, config.port, config.host);
      // the embedded database is this process's alone: other commands on the home are told where it serves
      const unrecord = app.db.kind === 'pglite' ? await recordServer(config.home, server.url) : async () => {};
      const where = app.db.kind === 'pglite' ? `embedded database in ${config.home}` : 'Postgres at DATABASE_URL';
      // Stopping removes the record and the lock: handled from here on, before anything else is awaited. `on`, not
      // `once`: another SIGTERM listener in this process (a library's) re-raises the signal when it sees no other
      // listener, which killed the process before `stop` had finished (seen: server.json and cmir.lock left behind).
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await unrecord();
        await server.stop();
        await app.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      console.log(`cmir serving ${server.url} (${where}); anonymous requests: ${server.anonymous === 'read' ? 'queries only' : 'refused'} (CMIR_ANONYMOUS)`);
      // whole-slide images whose tiling a stopped process left unfinished go on from their last stored tile
      const resumed = await app.services.wsi.resumePending();
      if (resumed.length > 0) console.log(`resumed the tiling of ${resumed.length} whole-slide image(s)`);
    });
}
