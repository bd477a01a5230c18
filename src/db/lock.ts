import { open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.ts';

/**
 * Written beside the lock by `cmir serve` while it serves the embedded database: its pid and address, so that a
 * command refused the lock can say which server holds it and where to send the change instead.
 */
const SERVER_FILE = 'server.json';

export interface ServerRecord {
  pid: number;
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
}

/** Records the serving process in the folder of its lock (the home); the returned function removes the record. */
export async function recordServer(lockDir: string, url: string): Promise<() => Promise<void>> {
  const file = path.join(lockDir, SERVER_FILE);
  await writeFile(file, `${JSON.stringify({ pid: process.pid, url } satisfies ServerRecord)}\n`);
  return () => rm(file, { force: true });
}

/** The server recorded beside a lock, if it is the process `pid` (a record left by another process is ignored). */
async function recordedServer(lockDir: string, pid: number): Promise<ServerRecord | null> {
  try {
    const r = JSON.parse(await readFile(path.join(lockDir, SERVER_FILE), 'utf8')) as ServerRecord;
    return r.pid === pid && typeof r.url === 'string' ? r : null;
  } catch {
    return null;
  }
}

/** What a command refused the embedded database is told: who holds it and exactly what to do instead. */
function lockedMessage(dir: string, pid: number, server: ServerRecord | null): string {
  const holder = server ? `\`cmir serve\` (process ${pid}, serving ${server.url})` : `process ${pid} (a running \`cmir serve\`?)`;
  return (
    `the embedded database in ${dir} is in use by ${holder}, and only one process can open it. Either stop that ` +
    `process (Ctrl-C in its terminal, or \`kill ${pid}\`) and run this command again; or make the change through the ` +
    `server's GraphQL API${server ? ` at ${server.url}` : ''} with an API key ("Authorization: Bearer <key>", README ` +
    `"GraphQL API"; queries need no key on a loopback server); or point the server and the CLI at one Postgres server ` +
    `with DATABASE_URL`
  );
}

export interface Lock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An exclusive lock file holding our pid; a lock left by a dead process is taken over. */
export async function acquireLock(file: string): Promise<Lock> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return { release: () => rm(file, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        const dir = path.dirname(file);
        const server = await recordedServer(dir, pid);
        throw new AppError('DATABASE_LOCKED', lockedMessage(dir, pid, server), { pid, lockFile: file, ...(server ? { server: server.url } : {}) });
      }
      await rm(file, { force: true });
    }
  }
  throw new AppError('DATABASE_LOCKED', `could not lock ${file}`);
}
