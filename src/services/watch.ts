import { type EventEmitter, on } from 'node:events';

export interface WatchOptions<T> {
  /** Values sent before the events (e.g. the row as it is now). */
  initial?: readonly T[];
  /** Which events to pass on (may ask the database). */
  keep?: (value: T) => boolean | Promise<boolean>;
  /** The value after which the watch ends (e.g. a job that finished). */
  last?: (value: T) => boolean;
}

/**
 * What a subscription pushes: the values `emitter` sends on `event` from the call on (none is missed between the call
 * and the first `next`), filtered, as an async iterator. Its `return()` (the client unsubscribed or went away) ends at
 * once and removes the listener, a pending `next()` included, through Node's `events.on` iterator, which an async
 * generator wrapped around it would not do before the next event came.
 */
export function watch<T>(emitter: EventEmitter, event: string, opts: WatchOptions<T> = {}): AsyncIterableIterator<T> {
  const events = on(emitter, event) as AsyncIterableIterator<[T]>;
  const queue = [...(opts.initial ?? [])];
  let finished = false;
  const end = async (): Promise<IteratorResult<T>> => {
    finished = true;
    await events.return?.();
    return { value: undefined, done: true };
  };
  return {
    async next() {
      if (finished) return end();
      let value = queue.shift();
      while (value === undefined) {
        const r = await events.next();
        if (r.done) return { value: undefined, done: true };
        if (!opts.keep || (await opts.keep(r.value[0]))) value = r.value[0];
      }
      if (opts.last?.(value)) finished = true;
      return { value, done: false };
    },
    return: end,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
