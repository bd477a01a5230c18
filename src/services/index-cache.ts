import type { VectorRepository } from '../db/vector.repository.ts';
import { InvertedFile } from '../pipeline/index/inverted-index.ts';
import type { BowVector } from '../pipeline/types.ts';

/**
 * The first stage of search: one in-memory inverted file per vocabulary, loaded from the histograms in Postgres on
 * first use and kept current as images are indexed or deleted (docs/adr/0003).
 */
export class IndexCache {
  private readonly files = new Map<number, Promise<InvertedFile<number>>>();

  constructor(private readonly vectors: VectorRepository) {}

  get(vocabularyId: number, vocabSize: number): Promise<InvertedFile<number>> {
    let f = this.files.get(vocabularyId);
    if (!f) {
      f = this.vectors.histograms(vocabularyId).then((rows) => {
        const file = new InvertedFile<number>(vocabSize);
        for (const r of rows) file.add(r.imageId, r.bow);
        return file;
      });
      this.files.set(vocabularyId, f);
      f.catch(() => this.files.delete(vocabularyId));
    }
    return f;
  }

  /** Adds (or replaces) an image in a loaded index; an index not loaded yet will read it from the database. */
  async add(vocabularyId: number, imageId: number, bow: BowVector): Promise<void> {
    const f = this.files.get(vocabularyId);
    if (f) (await f).add(imageId, bow);
  }

  async remove(imageId: number): Promise<void> {
    for (const f of this.files.values()) {
      const file = await f;
      if (file.has(imageId)) file.remove(imageId);
    }
  }

  invalidate(vocabularyId: number): void {
    this.files.delete(vocabularyId);
  }
}
