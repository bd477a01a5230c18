import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The sha256 of a file, read as a stream (a whole-slide image is not held in memory). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Content-addressed file store: a file lives at `root/ab/abcdef...` named by its sha256. Writes go to a temporary
 * name first and are renamed into place, so a reader never sees half a file.
 */
export class FileStore {
  constructor(readonly root: string) {}

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return stat(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Whether the content is there; if so its modification time is set to now, so that `sweep` (which spares recent
   * files) cannot take a file a caller is about to refer to, such as one a stopped process left without its row.
   */
  private async reuse(sha256: string): Promise<boolean> {
    const now = new Date();
    return utimes(this.pathOf(sha256), now, now).then(
      () => true,
      () => false,
    );
  }

  /** Stores the bytes; `created` is false when the same content was already there (then nothing is written). */
  async put(data: Buffer): Promise<{ sha256: string; created: boolean }> {
    const sha256 = sha256Hex(data);
    const target = this.pathOf(sha256);
    if (await this.reuse(sha256)) return { sha256, created: false };
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, target);
    return { sha256, created: true };
  }

  /**
   * Stores a file by copying it (whole-slide images: gigabytes, never read into memory). `sha256` is the file's,
   * from sha256File; the copy lands under a temporary name and is renamed into place.
   */
  async putFile(source: string, sha256: string): Promise<{ sha256: string; created: boolean }> {
    const target = this.pathOf(sha256);
    if (await this.reuse(sha256)) return { sha256, created: false };
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await copyFile(source, tmp);
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return { sha256, created: true };
  }

  read(sha256: string): Promise<Buffer> {
    return readFile(this.pathOf(sha256));
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  /**
   * Removes what a process that stopped midway (kill -9, power loss) left here: temporary files (`*.tmp`, a write
   * that never reached its rename) and files for which `referenced` is false (stored before their rows, whose
   * transaction never committed; or left by a deletion stopped between its rows and its files). Only files last
   * modified before `before` are touched. Returns the names removed.
   */
  async sweep(referenced: (sha256: string) => boolean, before: Date): Promise<string[]> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    const removed: string[] = [];
    for (const e of entries) {
      if (!e.isFile()) continue;
      const content = /^[0-9a-f]{64}$/.test(e.name);
      if (content && referenced(e.name)) continue;
      if (!content && !e.name.endsWith('.tmp')) continue; // not the store's: left alone
      const file = path.join(e.parentPath, e.name);
      const s = await stat(file).catch(() => null);
      if (!s || s.mtime >= before) continue;
      await rm(file, { force: true });
      removed.push(e.name);
    }
    return removed.sort();
  }
}
