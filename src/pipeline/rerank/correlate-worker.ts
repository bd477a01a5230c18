/**
 * Worker thread of dense correlation (correlate-pool.ts). Loaded through tsx's ESM hooks, which the pool registers
 * inside the worker before importing this file. Prepares each query once (its views and their spectra are reused for
 * every candidate of that query) and correlates the candidates it is sent.
 */
import { parentPort } from 'node:worker_threads';
import type { CorrelateReply, CorrelateRequest } from './correlate-pool.ts';
import { correlateJoint, prepareSignals, type WeightedQuery } from './correlate.ts';

const queries = new Map<number, WeightedQuery[]>();
const port = parentPort!;

port.on('message', (m: CorrelateRequest) => {
  if (m.type === 'query') queries.set(m.job, prepareSignals(m.signals, m.opts));
  else if (m.type === 'end') queries.delete(m.job);
  else {
    let reply: CorrelateReply;
    try {
      const q = queries.get(m.job);
      if (!q) throw new Error(`no query for job ${m.job}`);
      reply = { job: m.job, seq: m.seq, match: correlateJoint(q, m.candidate) };
    } catch (e) {
      reply = { job: m.job, seq: m.seq, error: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(reply);
  }
});
