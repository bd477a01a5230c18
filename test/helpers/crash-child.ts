/**
 * The child process of test/medium/crash.test.ts (issue 19, kill -9): opens cmir on `home` (the embedded database in
 * it, or the Postgres database in DATABASE_URL, as `cmir serve` would), does one kind of work, and prints one JSON
 * line per event on stdout. The test kills it (SIGKILL) at a chosen event, then reopens the home itself.
 *
 *   node --import tsx test/helpers/crash-child.ts vocabulary <home> <images>
 *     ingests <images> generated TEX images, starts a vocabulary build, and once the build has stored the first
 *     image's histogram under the new version (the version is 'indexing') prints {"event":"indexing"} and stops there
 *   node --import tsx test/helpers/crash-child.ts serve <home>
 *     serves GraphQL on a free port ({"event":"listening","url","key"}: an admin key); the first ingestion's
 *     transaction, once its rows are written and before it commits (the uploaded file and its CoMIR are already in
 *     the file store), prints {"event":"commit-held"} and stops there
 *
 * "Stops there": the event loop is blocked (Atomics.wait), so the process is frozen at that point until it is killed,
 * whatever the machine's load. stdout is a pipe, written synchronously on Linux, so the line is out before it blocks.
 */
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server/server.ts';
import { cliActor } from '../../src/services/auth.ts';
import { makeImage } from './images.ts';

const [mode, home, arg] = process.argv.slice(2);
if (!mode || !home) throw new Error('usage: crash-child.ts vocabulary|serve <home> [images]');
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
/** Freezes this process (at most a minute: a test that failed to kill it does not leave it forever). */
const freeze = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);

const app = await createApp(loadConfig({ home }));

if (mode === 'vocabulary') {
  const n = Number(arg);
  await app.services.modalities.create({ name: 'TEX' });
  for (let i = 0; i < n; i++) {
    await app.services.images.ingest({ data: await makeImage({ width: 96, height: 96, seed: 100 + i }), fileName: `tex${i}.png`, modality: 'TEX' });
  }
  const iterations = 100; // the build's progress budget for k-means (vocabulary.service.ts)
  const job = await app.services.vocabularies.build('TEX', { size: 50, seed: 1 }, (done) => {
    if (done > n + iterations) {
      say({ event: 'indexing', done });
      freeze();
    }
  });
  say({ event: 'started', jobId: job.id, pid: process.pid });
  const finished = await app.services.jobs.wait(job.id);
  say({ event: 'done', state: finished.state });
} else if (mode === 'serve') {
  const { secret } = await app.services.keys.create('crash-admin', 'admin', cliActor());
  const server = await startServer(app, 0, '127.0.0.1');
  // Every transaction from here on runs as usual; the one that writes an image row is frozen before it commits.
  const prisma = app.db.prisma as unknown as { $transaction: (fn: unknown, opts?: unknown) => Promise<unknown> };
  const transaction = prisma.$transaction.bind(prisma);
  prisma.$transaction = (fn: unknown, opts?: unknown) => {
    if (typeof fn !== 'function') return transaction(fn, opts);
    return transaction(async (tx: unknown) => {
      const result = await (fn as (tx: unknown) => Promise<unknown>)(tx);
      if (result && typeof result === 'object' && 'sha256' in result && 'modalityId' in result) {
        say({ event: 'commit-held', imageId: (result as unknown as { id: number }).id });
        freeze();
      }
      return result;
    }, opts);
  };
  say({ event: 'listening', url: server.url, key: secret, pid: process.pid });
} else {
  throw new Error(`unknown mode ${mode}`);
}
