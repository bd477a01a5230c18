import type { Command } from 'commander';
import { createApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { recordServer } from '../../db/lock.ts';
import { startServer } from '../../server/server.ts';
import { AppError } from '../../errors.ts';
import { cliActor } from '../../services/auth.ts';
import { DEFAULT_WORKER_CONCURRENCY, parseConcurrency } from './worker.ts';

/**
 * The most the HTTP side is waited for at SIGTERM (ms): Apollo's drain gives open requests 10 s
 * (ApolloServerPluginDrainHttpServer's stopGracePeriodMillis default), plus slack.
 */
const HTTP_STOP_MS = 12_000;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve GraphQL at http://localhost:PORT/graphql (embedded database unless DATABASE_URL is set)')
    .option('--port <n>', 'TCP port (default 4000, or PORT)')
    .option('--host <address>', 'address to bind (default 127.0.0.1, this machine only, or CMIR_HOST); 0.0.0.0 serves the network, where requests need a key')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .option('--no-worker', 'serve the API only, run no jobs (a replica on a Postgres server; `cmir worker` runs them)')
    .option('--concurrency <n>', `jobs this server runs at once on a Postgres server (default ${DEFAULT_WORKER_CONCURRENCY})`)
    .action(async (opts: { port?: string; host?: string; home?: string; worker: boolean; concurrency?: string }) => {
      const config = loadConfig({ home: opts.home, port: opts.port, host: opts.host });
      const concurrency = parseConcurrency(opts.concurrency, DEFAULT_WORKER_CONCURRENCY);
      if (!opts.worker && !config.databaseUrl) {
        throw new AppError('BAD_USER_INPUT', '--no-worker needs a Postgres server (DATABASE_URL): the embedded database runs its jobs in the serving process');
      }
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
      //
      // Apollo stops itself on these signals too (its stopOnTerminationSignals, on outside NODE_ENV=test), then raises
      // the signal again; a second `stop()` that came while its own ran never resolves in @apollo/server 5 (its
      // barrier is resolved only when stopping fails: dist/esm/ApolloServer.js, stop()). So the HTTP side counts as
      // stopped when `server.stop()` returns or that second signal comes, and at the latest after HTTP_STOP_MS; then
      // `app.close()` stops the jobs (they finish within CMIR_SHUTDOWN_GRACE_S or are handed back) and the database.
      let stopping = false;
      let httpStopped!: () => void;
      const apolloStopped = new Promise<void>((resolve) => (httpStopped = resolve));
      const stop = async () => {
        if (stopping) {
          httpStopped();
          return;
        }
        stopping = true;
        await unrecord();
        const timer = setTimeout(httpStopped, HTTP_STOP_MS);
        await Promise.race([server.stop(), apolloStopped]);
        clearTimeout(timer);
        await app.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // queued jobs (docs/adr/0023): on a Postgres server this process takes them too unless --no-worker; the embedded
      // database's queue runs in this process from the start
      if (opts.worker && app.db.kind === 'postgres') await app.services.jobs.work(concurrency);
      // an API-only replica: not even a request that waits for its job (ingestImage) takes one (docs/adr/0027)
      if (!opts.worker) app.services.jobs.refuseWork();
      const jobs = app.db.kind === 'pglite' ? 'runs its jobs' : opts.worker ? `runs queued jobs, ${concurrency} at a time` : 'runs no jobs (--no-worker)';
      console.log(`cmir serving ${server.url} (${where}; ${jobs}); anonymous requests: ${server.anonymous === 'read' ? 'queries only' : 'refused'} (CMIR_ANONYMOUS)`);
      // whole-slide images whose tiling a stopped process left unfinished go on from their last stored tile
      const resumed = await app.services.wsi.resumePending();
      if (resumed.length > 0) console.log(`resumed the tiling of ${resumed.length} whole-slide image(s)`);
    });
}
