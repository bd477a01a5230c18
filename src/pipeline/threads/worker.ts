/**
 * A worker thread of the pipeline pool (pool.ts), loaded by worker-entry.mjs after it has registered tsx. Piscina calls
 * the default export with each task; the result's buffers are moved to the main thread, not copied.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { buffersOf, replyTo, type Task } from './tasks.ts';

export default async function run(task: Task) {
  const reply = await replyTo(task);
  if (!('value' in reply)) return reply;
  const buffers = buffersOf(reply.value);
  return buffers.length ? move({ [transferableSymbol]: buffers, [valueSymbol]: reply }) : reply;
}
