import type { Prisma } from '../db/database.ts';
import type { RepresentationService } from './representation.service.ts';

/**
 * 2 s: a `SELECT 1` answers in about a millisecond on PGlite and on a local Postgres server; a database that takes a
 * thousand times that is treated as down (a readiness probe's own timeout is typically 1-10 s: Kubernetes'
 * `timeoutSeconds` defaults to 1).
 */
export const DATABASE_PING_MS = 2_000;

export interface Readiness {
  ready: boolean;
  database: { ok: boolean; kind: 'pglite' | 'postgres'; error?: string };
  /** `name@version` of the CoMIR models the modalities use, loaded; `error` names the first that failed. */
  models: { ok: boolean; loaded: string[]; error?: string };
}

/** `/readyz`: whether this process can serve searches now (database reachable, every modality's CoMIR model loaded). */
export class HealthService {
  constructor(
    private readonly prisma: Prisma,
    private readonly kind: 'pglite' | 'postgres',
    private readonly representations: RepresentationService,
  ) {}

  async readiness(): Promise<Readiness> {
    const database: Readiness['database'] = { ok: true, kind: this.kind };
    try {
      await withTimeout(this.prisma.$queryRaw`SELECT 1`, DATABASE_PING_MS, `no answer to SELECT 1 within ${DATABASE_PING_MS} ms`);
    } catch (e) {
      database.ok = false;
      database.error = e instanceof TimeoutError ? e.message : 'the database did not answer SELECT 1';
    }
    const models: Readiness['models'] = { ok: database.ok, loaded: [] };
    if (!database.ok) {
      models.error = 'not checked: the database is unreachable';
    } else {
      try {
        models.loaded = await this.representations.loadModels();
      } catch (e) {
        // the answer names the model; its folder and the loader's reason go to the server's log only
        models.ok = false;
        models.error = (e as Error).message;
        console.warn(`[cmir] readyz: ${models.error}: ${((e as Error).cause as Error | undefined)?.message ?? ''}`);
      }
    }
    return { ready: database.ok && models.ok, database, models };
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
