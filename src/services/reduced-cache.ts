import type { GreyImage } from '../pipeline/types.ts';

/**
 * A bounded least-recently-used cache of small images (stored representations downsampled for dense correlation),
 * by bytes. Dense correlation reads every candidate's representation at the query's working scale on every query;
 * decoding the stored 16-bit PNG and downsampling it each time added about a third to the cost (measured once on a
 * 900 x 768 vis-nir CoMIR, loaded 2-core machine: 39 ms against 116 ms for its correlation; docs/adr/0004). Entries
 * are promises, so concurrent queries share one decode.
 */
export class ReducedCache {
  private readonly entries = new Map<string, { value: Promise<GreyImage>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, load: () => Promise<GreyImage>): Promise<GreyImage> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // refresh: Map iterates in insertion order, so the oldest entry comes first
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry = { value: load(), bytes: 0 };
    this.entries.set(key, entry);
    entry.value.then(
      (img) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = img.data.byteLength;
        this.bytes += entry.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      this.entries.delete(key);
      this.bytes -= e.bytes;
    }
  }
}
