import { createHash } from 'node:crypto';
import type { FileStore } from '../db/file-store.ts';
import type { Image } from '../db/generated/client.ts';
import type { ImageRepository } from '../db/image.repository.ts';
import { NotFoundError } from '../errors.ts';
import { type IiifLimits, type IiifParams, parseIiifRequest, scaleFactors } from '../pipeline/decode/iiif.ts';
import { openTileSource, renderTile, type TileSource } from '../pipeline/decode/tiles.ts';

/**
 * Deep-zoom tiles over HTTP: IIIF Image API 3.0 level 1 (https://iiif.io/api/image/3.0/) for every stored image, so a
 * viewer (OpenSeadragon) shows whole-slide pyramids and small images alike. Parameters are validated up front
 * (pipeline/decode/iiif.ts); pixels come from pipeline/decode/tiles.ts. Served tiles are immutable (an image id always
 * names the same file), so they carry a strong ETag and a year's Cache-Control, and the encoded bytes of recent tiles
 * are kept in memory.
 */

/** Tile side announced in info.json (what a viewer requests). */
export const TILE_SIZE = 256;

/**
 * The largest output the server renders (info.json maxWidth, maxHeight, maxArea): a request can never make it decode
 * and encode a huge image; `max` sizes are confined to these, explicit sizes over them refused.
 */
export const IIIF_LIMITS: IiifLimits = { maxWidth: 4096, maxHeight: 4096, maxArea: 4096 * 4096 };

/** 64 MiB of encoded tiles (~2,500 256-px JPEG tiles at ~25 KB). */
export const TILE_CACHE_BYTES = 64 * 1024 * 1024;

/** How many images' tile sources (pyramid or not, 16-bit stretch) stay known. */
const SOURCE_CACHE_ENTRIES = 512;

/** Renders at once; more wait (each can hold up to maxArea x 3 samples, 16-bit for 16-bit images). */
const MAX_CONCURRENT_RENDERS = 4;

/** Part of every ETag: bump when the rendering changes (stretch, resampling, JPEG quality), so old validators fail. */
const RENDER_VERSION = 'r1';

export const IIIF_CONTEXT = 'http://iiif.io/api/image/3/context.json';

export interface IiifInfo {
  '@context': typeof IIIF_CONTEXT;
  id: string;
  type: 'ImageService3';
  protocol: 'http://iiif.io/api/image';
  profile: 'level1';
  width: number;
  height: number;
  maxWidth: number;
  maxHeight: number;
  maxArea: number;
  tiles: { width: number; height: number; scaleFactors: number[] }[];
  sizes: { width: number; height: number }[];
  extraQualities: string[];
  extraFormats: string[];
  extraFeatures: string[];
}

export interface TileResponse {
  /** Empty when notModified. */
  body: Buffer;
  contentType: string;
  /** Strong validator, quoted: the file's sha256 and a digest of its page, the resolved request and the render version. */
  etag: string;
  /** The client's If-None-Match already names this tile: answer 304 without a body. */
  notModified: boolean;
}

/** Cache-Control of tiles: an image id always names the same bytes (content-addressed store, ids never reused). */
export const TILE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** A least-recently-used map bounded by bytes; entries are promises, so concurrent requests for one tile share a render. */
class ByteLru {
  private readonly entries = new Map<string, { value: Promise<Buffer>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get(key: string, load: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // Map iterates in insertion order: re-inserting makes it the newest
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry = { value: load(), bytes: 0 };
    this.entries.set(key, entry);
    entry.value.then(
      (buf) => {
        if (this.entries.get(key) !== entry) return;
        if (buf.byteLength > this.maxBytes) {
          this.entries.delete(key);
          return;
        }
        entry.bytes = buf.byteLength;
        this.bytes += entry.bytes;
        for (const [k, e] of this.entries) {
          if (this.bytes <= this.maxBytes) break;
          this.entries.delete(k);
          this.bytes -= e.bytes;
        }
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }
}

/** A counting semaphore. */
class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await f();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** Does an If-None-Match header name this ETag (weak comparison, as RFC 9110 13.1.2 asks)? */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((t) => t.replace(/^W\//, '') === etag);
}

export class TileService {
  private readonly tiles: ByteLru;
  private readonly sources = new Map<string, Promise<TileSource>>();
  private readonly gate = new Gate(MAX_CONCURRENT_RENDERS);

  constructor(
    private readonly images: ImageRepository,
    private readonly files: FileStore,
    opts: { cacheBytes?: number } = {},
  ) {
    this.tiles = new ByteLru(opts.cacheBytes ?? TILE_CACHE_BYTES);
  }

  /** Encoded tiles held in memory now (for tests and diagnostics). */
  get cached(): { tiles: number; bytes: number } {
    return { tiles: this.tiles.size, bytes: this.tiles.totalBytes };
  }

  /** The image row; `id` as in the URL (decimal digits), anything else is an image that does not exist. */
  private async row(id: number | string): Promise<Image> {
    const n = typeof id === 'number' ? id : /^[1-9][0-9]{0,9}$/.test(id) ? Number(id) : NaN;
    const image = Number.isSafeInteger(n) && n > 0 && n <= 2 ** 31 - 1 ? await this.images.findById(n) : null;
    // the id as the URL gave it (IIIF URLs name images by row id, docs/adr/0013)
    if (!image) throw new NotFoundError('Image', String(id));
    return image;
  }

  /** The IIIF info.json of an image; `baseUrl` is the server's origin as the client reached it (http://host:port). */
  async info(imageId: number | string, baseUrl: string): Promise<IiifInfo> {
    const image = await this.row(imageId);
    const { width, height } = image;
    const factors = scaleFactors(width, height, TILE_SIZE);
    const { maxWidth, maxHeight, maxArea } = IIIF_LIMITS;
    const sizes = factors
      .map((f) => ({ width: Math.ceil(width / f), height: Math.ceil(height / f) }))
      .filter((s) => s.width <= maxWidth && s.height <= maxHeight && s.width * s.height <= maxArea)
      .reverse();
    return {
      '@context': IIIF_CONTEXT,
      id: `${baseUrl.replace(/\/+$/, '')}/iiif/3/${image.id}`,
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level1',
      width,
      height,
      maxWidth,
      maxHeight,
      maxArea,
      tiles: [{ width: TILE_SIZE, height: TILE_SIZE, scaleFactors: factors }],
      sizes,
      extraQualities: ['color', 'gray'],
      extraFormats: ['png'],
      extraFeatures: ['sizeByConfinedWh'],
    };
  }

  /**
   * One image request. Validates every parameter first (BAD_USER_INPUT), then answers from the ETag (notModified),
   * the in-memory tile cache, or a render.
   */
  async render(imageId: number | string, params: IiifParams, opts: { ifNoneMatch?: string } = {}): Promise<TileResponse> {
    const image = await this.row(imageId);
    const req = parseIiifRequest(params, image, IIIF_LIMITS);
    const contentType = req.format === 'png' ? 'image/png' : 'image/jpeg';
    const key = `${image.sha256}/${image.page}/${req.canonical}/${RENDER_VERSION}`;
    // the file, then a digest of the rest: no commas or slashes, which naive If-None-Match parsers split on
    const etag = `"${image.sha256}-${createHash('sha256').update(key).digest('base64url').slice(0, 22)}"`;
    if (matchesIfNoneMatch(opts.ifNoneMatch, etag)) return { body: Buffer.alloc(0), contentType, etag, notModified: true };
    const body = await this.tiles.get(key, async () => {
      const file = this.files.pathOf(image.sha256);
      const source = await this.source(image);
      return this.gate.run(() => renderTile(file, source, req));
    });
    return { body, contentType, etag, notModified: false };
  }

  /** Pyramid or plain, and the 16-bit stretch: decided once per file and page. */
  private source(image: Image): Promise<TileSource> {
    const key = `${image.sha256}/${image.page}`;
    let source = this.sources.get(key);
    if (!source) {
      source = openTileSource(this.files.pathOf(image.sha256), image.page);
      this.sources.set(key, source);
      source.catch(() => this.sources.delete(key));
      if (this.sources.size > SOURCE_CACHE_ENTRIES) this.sources.delete(this.sources.keys().next().value!);
    }
    return source;
  }
}
