import { describe, expect, test } from 'vitest';
import { isAppError } from '../../src/errors.ts';
import { AdmissionService } from '../../src/services/admission.service.ts';
import type { Principal } from '../../src/services/auth.ts';

const key = (keyId: number): Principal => ({ kind: 'key', role: 'reader', actor: { keyId, name: `k${keyId}` } });
const anonymous: Principal = { kind: 'anonymous', access: 'read' };

/** The typed error a call throws (or null), with its code and retry delay. */
async function refusal(p: Promise<unknown>): Promise<{ code: string; retryAfterSeconds: unknown; status: unknown } | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (!isAppError(e)) throw e;
    return { code: e.code, retryAfterSeconds: e.details.retryAfterSeconds, status: (e as { extensions?: { http?: { status?: number } } }).extensions?.http?.status };
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('AdmissionService (docs/adr/0024)', () => {
  test('a key over its searches a minute is refused RATE_LIMITED with when to retry; other keys are not', async () => {
    const admission = new AdmissionService({ searchesPerMinute: 3, uploadsPerMinute: 0, searchConcurrency: 4, searchQueue: 4 });
    const ran: number[] = [];
    for (let i = 0; i < 3; i++) await admission.search(key(1), async () => ran.push(i));
    const refused = await refusal(admission.search(key(1), async () => ran.push(99)));
    expect(refused?.code).toBe('RATE_LIMITED');
    expect(refused?.status).toBe(429);
    expect(refused?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(ran).toEqual([0, 1, 2]); // the refused search never ran
    await admission.search(key(2), async () => ran.push(5));
    await admission.search(anonymous, async () => ran.push(6));
    expect(ran).toEqual([0, 1, 2, 5, 6]);
  });

  test('uploads have their own rate; 0 turns a limit off', async () => {
    const admission = new AdmissionService({ searchesPerMinute: 0, uploadsPerMinute: 2, searchConcurrency: 1, searchQueue: 0 });
    await admission.upload(key(1));
    await admission.upload(key(1));
    expect((await refusal(admission.upload(key(1))))?.code).toBe('RATE_LIMITED');
    for (let i = 0; i < 20; i++) await admission.search(key(1), async () => i); // no search limit
  });

  test('past the running searches and the queue, a search is answered SERVER_BUSY at once; the queued ones run', async () => {
    const admission = new AdmissionService({ searchesPerMinute: 0, uploadsPerMinute: 0, searchConcurrency: 1, searchQueue: 1 });
    const gate = deferred();
    const order: string[] = [];
    const first = admission.search(key(1), async () => { await gate.promise; order.push('first'); });
    const second = admission.search(key(2), async () => { order.push('second'); });
    await new Promise((r) => setTimeout(r, 10));
    expect(admission.searches).toEqual({ running: 1, waiting: 1 });
    const t0 = performance.now();
    const busy = await refusal(admission.search(key(3), async () => order.push('third')));
    expect(performance.now() - t0).toBeLessThan(100); // answered, not queued
    expect(busy?.code).toBe('SERVER_BUSY');
    expect(busy?.status).toBe(503);
    expect(busy?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    gate.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(admission.searches).toEqual({ running: 0, waiting: 0 });
    // room again
    await admission.search(key(3), async () => order.push('third'));
    expect(order).toEqual(['first', 'second', 'third']);
  });

  test('a search that fails frees its place', async () => {
    const admission = new AdmissionService({ searchesPerMinute: 0, uploadsPerMinute: 0, searchConcurrency: 1, searchQueue: 0 });
    await expect(admission.search(key(1), async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await admission.search(key(1), async () => 7)).toBe(7);
  });
});
