/**
 * Byte-level TIFF helpers for the whole-slide tests: a reader of the image file directories (IFDs) of a classic TIFF
 * (to find and patch tags, e.g. the Compression of the full-resolution level), and a small writer of uncompressed,
 * striped or tiled, multi-page TIFFs with SubIFDs and an ImageDescription, for layouts sharp cannot write (Aperio SVS
 * page order, OME-TIFF SubIFD pyramids, levels whose content differs from the full level's).
 *
 * TIFF 6.0: header (byte order, 42, offset of the first IFD); an IFD is a 2-byte count, 12-byte entries
 * (tag, type, count, value or offset) and the 4-byte offset of the next IFD.
 */

/** TIFF field types and their sizes in bytes. */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8 };

export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** Byte offset of the entry's 4-byte value/offset field in the file. */
  fieldOffset: number;
  /** Byte offset of the value itself (the field when it fits in 4 bytes). */
  valueOffset: number;
}

export interface Ifd {
  offset: number;
  entries: IfdEntry[];
}

/** The IFDs of the main chain of a classic (not Big) TIFF, in file order of the chain. */
export function readIfds(buf: Buffer): { little: boolean; ifds: Ifd[] } {
  const order = buf.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') throw new Error('not a TIFF');
  const little = order === 'II';
  const u16 = (o: number) => (little ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (little ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (u16(2) !== 42) throw new Error(`not a classic TIFF (version ${u16(2)})`);
  const ifds: Ifd[] = [];
  let next = u32(4);
  while (next !== 0 && ifds.length < 1000) {
    const n = u16(next);
    const entries: IfdEntry[] = [];
    for (let i = 0; i < n; i++) {
      const e = next + 2 + 12 * i;
      const type = u16(e + 2), count = u32(e + 4);
      const bytes = (TYPE_SIZE[type] ?? 1) * count;
      entries.push({ tag: u16(e), type, count, fieldOffset: e + 8, valueOffset: bytes <= 4 ? e + 8 : u32(e + 8) });
    }
    ifds.push({ offset: next, entries });
    next = u32(next + 2 + 12 * n);
  }
  return { little, ifds };
}

/** The first value of a SHORT or LONG tag of an IFD; undefined when absent. */
export function tagValue(buf: Buffer, little: boolean, ifd: Ifd, tag: number): number | undefined {
  const e = ifd.entries.find((x) => x.tag === tag);
  if (!e) return undefined;
  if (e.type === 3) return little ? buf.readUInt16LE(e.valueOffset) : buf.readUInt16BE(e.valueOffset);
  return little ? buf.readUInt32LE(e.valueOffset) : buf.readUInt32BE(e.valueOffset);
}

/** A copy of `buf` with the SHORT/LONG tag `tag` of IFD `index` set to `value` (the tag must exist). */
export function patchTag(buf: Buffer, index: number, tag: number, value: number): Buffer {
  const out = Buffer.from(buf);
  const { little, ifds } = readIfds(out);
  const e = ifds[index].entries.find((x) => x.tag === tag);
  if (!e) throw new Error(`IFD ${index} has no tag ${tag}`);
  if (e.type === 3) little ? out.writeUInt16LE(value, e.valueOffset) : out.writeUInt16BE(value, e.valueOffset);
  else little ? out.writeUInt32LE(value, e.valueOffset) : out.writeUInt32BE(value, e.valueOffset);
  return out;
}

/** One image (page or SubIFD) for writeTiff: 8-bit interleaved samples. */
export interface TiffPage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
  /** Tile side (a multiple of 16); striped (one strip) when absent. */
  tile?: number;
  description?: string;
  /** NewSubfileType: 1 for a reduced-resolution image. */
  subfileType?: number;
  /** XResolution = YResolution = num/den per ResolutionUnit (2 inch, 3 cm). */
  resolution?: { num: number; den: number; unit: 2 | 3 };
  /** Reduced levels stored as SubIFDs of this page (OME-TIFF pyramids). */
  subIfds?: TiffPage[];
}

interface Field {
  tag: number;
  type: number;
  values: number[] | Buffer;
}

/** An uncompressed little-endian classic TIFF of `pages` (the main IFD chain), each with its SubIFDs. */
export function writeTiff(pages: readonly TiffPage[]): Buffer {
  const chunks: Buffer[] = [];
  let size = 8;
  const append = (b: Buffer): number => {
    // word-align every block
    if (size % 2) {
      chunks.push(Buffer.alloc(1));
      size += 1;
    }
    const at = size;
    chunks.push(b);
    size += b.length;
    return at;
  };

  const pixelBlocks = (p: TiffPage): { offsets: number[]; counts: number[] } => {
    const C = p.channels;
    if (!p.tile) {
      const at = append(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength));
      return { offsets: [at], counts: [p.data.byteLength] };
    }
    const t = p.tile;
    const offsets: number[] = [], counts: number[] = [];
    for (let ty = 0; ty < Math.ceil(p.height / t); ty++) {
      for (let tx = 0; tx < Math.ceil(p.width / t); tx++) {
        const block = Buffer.alloc(t * t * C);
        for (let y = 0; y < t; y++) {
          const sy = ty * t + y;
          if (sy >= p.height) break;
          const x0 = tx * t, x1 = Math.min(p.width, x0 + t);
          block.set(p.data.subarray((sy * p.width + x0) * C, (sy * p.width + x1) * C), y * t * C);
        }
        offsets.push(append(block));
        counts.push(block.length);
      }
    }
    return { offsets, counts };
  };

  /** Writes one IFD (next offset 0, patched later) and returns its offset and the position of its next-IFD field. */
  const writeIfd = (p: TiffPage, subIfdOffsets: number[]): { at: number; nextField: number } => {
    const { offsets, counts } = pixelBlocks(p);
    const fields: Field[] = [
      { tag: 254, type: 4, values: [p.subfileType ?? 0] },
      { tag: 256, type: 4, values: [p.width] },
      { tag: 257, type: 4, values: [p.height] },
      { tag: 258, type: 3, values: Array(p.channels).fill(8) },
      { tag: 259, type: 3, values: [1] },
      { tag: 262, type: 3, values: [p.channels === 3 ? 2 : 1] },
      ...(p.description !== undefined ? [{ tag: 270, type: 2, values: Buffer.from(`${p.description}\0`, 'utf8') }] : []),
      ...(p.tile ? [] : [{ tag: 273, type: 4, values: offsets }]),
      { tag: 277, type: 3, values: [p.channels] },
      ...(p.tile ? [] : [{ tag: 278, type: 4, values: [p.height] }, { tag: 279, type: 4, values: counts }]),
      ...(p.resolution
        ? [
            { tag: 282, type: 5, values: [p.resolution.num, p.resolution.den] },
            { tag: 283, type: 5, values: [p.resolution.num, p.resolution.den] },
          ]
        : []),
      { tag: 284, type: 3, values: [1] },
      ...(p.resolution ? [{ tag: 296, type: 3, values: [p.resolution.unit] }] : []),
      ...(p.tile
        ? [
            { tag: 322, type: 4, values: [p.tile] },
            { tag: 323, type: 4, values: [p.tile] },
            { tag: 324, type: 4, values: offsets },
            { tag: 325, type: 4, values: counts },
          ]
        : []),
      ...(subIfdOffsets.length ? [{ tag: 330, type: 4, values: subIfdOffsets }] : []),
    ];
    // values longer than 4 bytes go before the IFD
    const encoded = fields.map((f) => {
      const count = Buffer.isBuffer(f.values) ? f.values.length : f.type === 5 ? f.values.length / 2 : f.values.length;
      let bytes: Buffer;
      if (Buffer.isBuffer(f.values)) bytes = f.values;
      else {
        const w = f.type === 3 ? 2 : 4;
        bytes = Buffer.alloc(f.values.length * w);
        f.values.forEach((v, i) => (w === 2 ? bytes.writeUInt16LE(v, i * 2) : bytes.writeUInt32LE(v, i * 4)));
      }
      return { f, count, bytes, at: bytes.length > 4 ? append(bytes) : -1 };
    });
    const ifd = Buffer.alloc(2 + 12 * fields.length + 4);
    ifd.writeUInt16LE(fields.length, 0);
    encoded.forEach(({ f, count, bytes, at }, i) => {
      const e = 2 + 12 * i;
      ifd.writeUInt16LE(f.tag, e);
      ifd.writeUInt16LE(f.type, e + 2);
      ifd.writeUInt32LE(count, e + 4);
      if (at >= 0) ifd.writeUInt32LE(at, e + 8);
      else bytes.copy(ifd, e + 8);
    });
    const at = append(ifd);
    return { at, nextField: at + 2 + 12 * fields.length };
  };

  const main: { at: number; nextField: number }[] = [];
  for (const p of pages) {
    const subs = (p.subIfds ?? []).map((s) => writeIfd(s, []).at);
    main.push(writeIfd(p, subs));
  }
  const out = Buffer.concat([Buffer.alloc(8), ...chunks]);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(main[0].at, 4);
  for (let i = 0; i + 1 < main.length; i++) out.writeUInt32LE(main[i + 1].at, main[i].nextField);
  return out;
}
