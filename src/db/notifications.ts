import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * The channels processes on one database tell each other on (docs/adr/0027): `cmir_index`, a first-stage inverted file
 * changed (IndexCache); `cmir_job`, a job's row was written (JobService: `jobUpdated`, `wait`).
 */
export type Channel = 'cmir_index' | 'cmir_job';

export type Payload = Record<string, string | number | boolean | null>;

/**
 * Messages between the processes that share one database: Postgres LISTEN/NOTIFY on a server (several API replicas
 * and workers), nothing on the embedded database (one process: what it changes, it already knows).
 */
export interface Notifications {
  readonly kind: 'postgres' | 'none';
  /** Tells the other processes (a process never receives its own messages). Best effort: a failure is logged, not thrown. */
  publish(channel: Channel, payload: Payload): Promise<void>;
  /** Calls `fn` with each message another process publishes on `channel`. */
  subscribe(channel: Channel, fn: (payload: Payload) => void): Promise<void>;
  /**
   * Calls `fn` when the listening connection came back after it was lost: messages sent in between were missed, so
   * whatever they would have invalidated must be dropped.
   */
  onReconnect(fn: () => void): void;
  close(): Promise<void>;
}

/** The embedded database: one process, nobody to tell. */
export class NoNotifications implements Notifications {
  readonly kind = 'none' as const;
  async publish(): Promise<void> {}
  async subscribe(): Promise<void> {}
  onReconnect(): void {}
  async close(): Promise<void> {}
}

/** How long to wait before listening again after the connection was lost: 1 s, doubling to 30 s. */
const RECONNECT_MS = { first: 1000, max: 30_000 };

/**
 * LISTEN/NOTIFY on a Postgres server through `pg`: one connection held for LISTEN (the notifications arrive on it), and
 * NOTIFY sent through a small pool of its own. A payload is JSON with the sender's `origin`, so a process skips its own.
 * NOTIFY payloads are limited to 8000 bytes (PostgreSQL docs, NOTIFY): ours are a few ids.
 */
export class PgNotifications implements Notifications {
  readonly kind = 'postgres' as const;
  private readonly origin = randomUUID();
  private readonly pool: pg.Pool;
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly handlers = new Map<Channel, ((p: Payload) => void)[]>();
  private readonly reconnectHandlers: (() => void)[] = [];
  private closed = false;
  private delay = RECONNECT_MS.first;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly log: (message: string) => void = (m) => console.error(m),
  ) {
    this.pool = new pg.Pool({ connectionString, max: 2 });
    this.pool.on('error', (e) => log(`notifications: idle connection error: ${e.message}`));
  }

  async publish(channel: Channel, payload: Payload): Promise<void> {
    if (this.closed) return;
    try {
      await this.pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ ...payload, origin: this.origin })]);
    } catch (e) {
      this.log(`notifications: could not publish on ${channel}: ${(e as Error).message}`);
    }
  }

  async subscribe(channel: Channel, fn: (payload: Payload) => void): Promise<void> {
    const list = this.handlers.get(channel);
    if (list) {
      list.push(fn);
      return;
    }
    this.handlers.set(channel, [fn]);
    await this.connect();
    await this.client?.query(`LISTEN ${channel}`);
  }

  onReconnect(fn: () => void): void {
    this.reconnectHandlers.push(fn);
  }

  private connect(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.connectionString });
      client.on('notification', (m) => this.deliver(m.channel as Channel, m.payload));
      const lost = (e?: Error) => {
        if (this.client !== client) return;
        this.client = undefined;
        if (this.closed) return;
        this.log(`notifications: listening connection lost${e ? `: ${e.message}` : ''}; listening again in ${this.delay / 1000} s`);
        this.retry();
      };
      client.on('error', lost);
      client.on('end', () => lost());
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
      } catch (e) {
        await client.end().catch(() => undefined);
        throw e;
      }
      this.client = client;
      this.delay = RECONNECT_MS.first;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private retry(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.connect().then(
        () => {
          for (const fn of this.reconnectHandlers) fn();
        },
        (e: Error) => {
          this.log(`notifications: cannot listen: ${e.message}`);
          this.delay = Math.min(this.delay * 2, RECONNECT_MS.max);
          this.retry();
        },
      );
    }, this.delay);
    this.timer.unref();
  }

  private deliver(channel: Channel, raw: string | undefined): void {
    let payload: Payload & { origin?: string };
    try {
      payload = JSON.parse(raw ?? '{}');
    } catch {
      return;
    }
    if (payload.origin === this.origin) return;
    for (const fn of this.handlers.get(channel) ?? []) {
      try {
        fn(payload);
      } catch (e) {
        this.log(`notifications: a ${channel} handler failed: ${(e as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
    await this.pool.end();
  }
}
