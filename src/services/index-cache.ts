import { NoNotifications, type Notifications } from '../db/notifications.ts';
import type { VectorRepository } from '../db/vector.repository.ts';
import { InvertedFile } from '../pipeline/index/inverted-index.ts';
import type { BowVector } from '../pipeline/types.ts';

/**
 * The first stage of search: one in-memory inverted file per vocabulary, loaded from the histograms in Postgres on
 * first use and kept current as images are indexed or deleted (docs/adr/0003).
 *
 * Several processes on one Postgres server (API replicas, workers) each hold their own copy: every change made here is
 * published on `cmir_index` (docs/adr/0027), and a change another process publishes drops the copy of that vocabulary
 * here (reloaded at the next search) or removes the deleted image from it. A lost listening connection drops them all.
 */
export class IndexCache {
  private readonly files = new Map<number, Promise<InvertedFile<number>>>();

  constructor(
    private readonly vectors: VectorRepository,
    private readonly notifications: Notifications = new NoNotifications(),
  ) {}

  /** Listens to the other processes' changes (once, at start-up). */
  async listen(): Promise<void> {
    await this.notifications.subscribe('cmir_index', (m) => {
      if (m.op === 'remove' && typeof m.imageId === 'number') void this.removeLocal(m.imageId);
      else if (typeof m.vocabularyId === 'number') this.files.delete(m.vocabularyId);
    });
    this.notifications.onReconnect(() => this.files.clear());
  }

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
    await this.notifications.publish('cmir_index', { op: 'add', vocabularyId, imageId });
  }

  async remove(imageId: number): Promise<void> {
    await this.removeLocal(imageId);
    await this.notifications.publish('cmir_index', { op: 'remove', imageId });
  }

  invalidate(vocabularyId: number): void {
    this.files.delete(vocabularyId);
    void this.notifications.publish('cmir_index', { op: 'invalidate', vocabularyId });
  }

  private async removeLocal(imageId: number): Promise<void> {
    for (const f of this.files.values()) {
      const file = await f.catch(() => undefined);
      if (file?.has(imageId)) file.remove(imageId);
    }
  }
}
