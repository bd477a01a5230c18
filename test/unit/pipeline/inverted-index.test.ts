import { describe, expect, it } from 'vitest';
import { InvertedFile } from '../../../src/pipeline/index/inverted-index.ts';
import { rankBruteForce } from '../../../src/pipeline/index/score.ts';
import type { BowVector } from '../../../src/pipeline/types.ts';
import { rng } from '../../helpers/synthetic-images.ts';

/** Zipf-ish random histogram: nnz distinct words drawn with p(w) ~ 1/(w+10). */
function randomBow(r: () => number, vocab: number, nnz: number): BowVector {
  const set = new Map<number, number>();
  const h = Math.log((vocab + 10) / 10);
  while (set.size < nnz) {
    const w = Math.min(vocab - 1, Math.floor(10 * Math.exp(r() * h) - 10));
    set.set(w, (set.get(w) ?? 0) + 1 + Math.floor(r() * 3));
  }
  const ids = [...set.keys()].sort((a, b) => a - b);
  return { ids: Uint32Array.from(ids), counts: Float32Array.from(ids.map((i) => set.get(i)!)) };
}

describe('InvertedFile', () => {
  const V = 2000;
  const r = rng(42);
  const entries = Array.from({ length: 300 }, (_, i) => ({ entryId: `img${i}`, bow: randomBow(r, V, 40 + Math.floor(r() * 200)) }));

  it('ranks exactly like brute-force paper scoring', () => {
    const inv = new InvertedFile<string>(V);
    for (const e of entries) inv.add(e.entryId, e.bow);
    expect(inv.size).toBe(300);
    for (let t = 0; t < 5; t++) {
      const q = randomBow(r, V, 150);
      const a = inv.query(q);
      const b = rankBruteForce(q, entries, V);
      expect(a.length).toBe(b.length);
      expect(a.length).toBeGreaterThan(50);
      for (let i = 0; i < a.length; i++) {
        expect(a[i].entryId).toBe(b[i].entryId);
        expect(a[i].score).toBeCloseTo(b[i].score, 6);
        expect(a[i].nWords).toBe(b[i].nWords);
      }
      // top-k selection equals the head of the full ranking
      expect(inv.query(q, { first: 7 }).map((x) => x.entryId)).toEqual(b.slice(0, 7).map((x) => x.entryId));
    }
    // a query identical to an entry finds it first with cosine ~1 restricted to valid words
    expect(inv.query(entries[17].bow, { first: 1 })[0].entryId).toBe('img17');
  });

  it('withUnranked appends the entries a query left out, once each, up to the limit', () => {
    const inv = new InvertedFile<string>(V);
    for (const e of entries.slice(0, 6)) inv.add(e.entryId, e.bow);
    // a query sharing no word with any entry ranks nothing
    const none: BowVector = { ids: Uint32Array.of(V - 1), counts: Float32Array.of(1) };
    expect(inv.query(none)).toEqual([]);
    const ranked = [{ entryId: 'img4', score: 0.5, nWords: 9 }, { entryId: 'img1', score: 0.2, nWords: 3 }];
    expect(inv.withUnranked(ranked, 5, 'img0')).toEqual([
      ...ranked,
      { entryId: 'img2', score: 0, nWords: 0 },
      { entryId: 'img3', score: 0, nWords: 0 },
      { entryId: 'img5', score: 0, nWords: 0 },
    ]);
    expect(inv.withUnranked(ranked, 1).map((x) => x.entryId)).toEqual(['img4']);
    expect(inv.withUnranked([], 100).map((x) => x.entryId)).toEqual(['img0', 'img1', 'img2', 'img3', 'img4', 'img5']);
  });

  it('remove and re-add keep it equal to brute force over the remaining entries', () => {
    const inv = new InvertedFile<string>(V);
    for (const e of entries) inv.add(e.entryId, e.bow);
    for (let i = 0; i < 300; i += 3) expect(inv.remove(`img${i}`)).toBe(true);
    expect(inv.remove('img0')).toBe(false);
    inv.add('img3', entries[3].bow); // re-add reuses a slot
    const remaining = entries.filter((_, i) => i % 3 !== 0 || i === 3);
    expect(inv.size).toBe(remaining.length);
    const q = entries[3].bow;
    const a = inv.query(q);
    const b = rankBruteForce(q, remaining, V);
    expect(a.map((x) => x.entryId)).toEqual(b.map((x) => x.entryId));
    expect(a[0].entryId).toBe('img3');
    expect(inv.statistics().nDocs).toBe(remaining.length);
    expect(inv.postings).toBe(remaining.reduce((s, e) => s + e.bow.ids.length, 0));
  });
});
