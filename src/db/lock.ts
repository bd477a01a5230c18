import { open, readFile, rm } from 'node:fs/promises';
import { AppError } from '../errors.ts';

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
        throw new AppError(
          'DATABASE_LOCKED',
          `the embedded database is in use by process ${pid} (a running \`cmir serve\`?); stop it, or point both at a Postgres server with DATABASE_URL`,
          { pid, lockFile: file },
        );
      }
      await rm(file, { force: true });
    }
  }
  throw new AppError('DATABASE_LOCKED', `could not lock ${file}`);
}
