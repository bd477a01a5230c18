import { describe, expect, it } from 'vitest';
import { ReducedCache } from '../../src/services/reduced-cache.ts';

const img = (n: number) => ({ width: n, height: 1, data: new Float32Array(n) }); // 4n bytes

describe('ReducedCache', () => {
  it('loads once per key, shares concurrent loads, and evicts the least recently used beyond its byte bound', async () => {
    const cache = new ReducedCache(100); // room for two 10-float images (40 B each), not three
    const loads: string[] = [];
    const load = (key: string) => () => {
      loads.push(key);
      return Promise.resolve(img(10));
    };
    const [a1, a2] = await Promise.all([cache.get('a', load('a')), cache.get('a', load('a'))]);
    expect(a1).toBe(a2);
    await cache.get('b', load('b'));
    await cache.get('a', load('a')); // refreshes a: b is now the oldest
    await cache.get('c', load('c'));
    await Promise.resolve();
    expect(cache.size).toBe(2);
    await cache.get('a', load('a'));
    await cache.get('b', load('b')); // evicted, loaded again
    expect(loads).toEqual(['a', 'b', 'c', 'b']);
  });

  it('forgets a failed load, so the next request tries again', async () => {
    const cache = new ReducedCache(1000);
    await expect(cache.get('x', () => Promise.reject(new Error('gone')))).rejects.toThrow('gone');
    await Promise.resolve();
    expect(cache.size).toBe(0);
    expect((await cache.get('x', () => Promise.resolve(img(3)))).width).toBe(3);
  });
});
