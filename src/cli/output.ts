import { SingleBar } from 'cli-progress';
import { isAppError } from '../errors.ts';

/** Prints an error as `error [CODE]: message` on stderr; unexpected errors keep their stack for the user to report. */
export function printError(e: unknown, prefix = 'error'): void {
  if (isAppError(e)) console.error(`${prefix} [${e.code}]: ${e.message}`);
  else console.error(`${prefix} [INTERNAL]:`, e);
}

/** A progress bar on stderr when it is a terminal (and not in --json mode); silent otherwise. */
export function progressBar(total: number, label: string, enabled: boolean): { tick(n?: number): void; update(done: number, total: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { tick() {}, update() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(total, 0);
  return {
    tick: (n = 1) => bar.increment(n),
    update: (done, t) => {
      bar.setTotal(t);
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}

/**
 * Prints a list: with `json`, one JSON array of the objects; else a header line and one tab-separated line per row, or
 * the `empty` line when there is none (so an empty home says so instead of printing nothing).
 */
export function printList<T>(items: readonly T[], opts: { json?: boolean; header: readonly string[]; row: (item: T) => readonly unknown[]; empty: string }): void {
  if (opts.json) {
    console.log(JSON.stringify(items, null, 2));
    return;
  }
  if (items.length === 0) {
    console.log(opts.empty);
    return;
  }
  console.log(opts.header.join('\t'));
  for (const item of items) console.log(opts.row(item).map((v) => (v === null || v === undefined ? '-' : String(v))).join('\t'));
}
