/**
 * Whole-slide tiling (issue 18): which parts of a slide are tissue, the overlapping tiles its CoMIR is computed in,
 * and the slide's CoMIR over any region assembled from them.
 *
 * Tiles are TILE_SIDE working pixels, laid every TILE_STRIDE = TILE_SIDE / 2. Each tile **owns** the central
 * TILE_STRIDE x TILE_STRIDE square of its box: those squares partition the slide, and every owned pixel lies at least
 * (TILE_SIDE - TILE_STRIDE) / 2 from its tile's border, far beyond the networks' receptive-field margin (manifest
 * network.margin, 56 px), so the slide's CoMIR assembled from owned squares has no seams. A tile's first-stage windows
 * are the ones centred in its owned square, so each place of the slide is described once.
 */
import type { GreyImage, Region } from '../types.ts';

/**
 * Tile side and stride in working pixels. 1536: a whole TMA core at the shg-bf working resolution is 512 px, its
 * footprint rotated by 30 degrees spans 700 px, and any window of up to TILE_SIDE - TILE_STRIDE = 768 px lies inside
 * one tile; the CoMIR of 1536 x 1536 takes ~1 s on 2 cores (../shared/guide/stack.md: 896 x 896 in 380 ms).
 */
export const TILE_SIDE = 1536;
export const TILE_STRIDE = TILE_SIDE / 2;

/**
 * A tile of the plan. `box` (computed) and `owned` (the square it contributes) are in working pixels of the slide;
 * `source` is the box in full-resolution slide pixels, read and resampled to box.width x box.height.
 */
export interface TilePlan {
  box: Region;
  owned: Region;
  source: Region;
}

/**
 * The tiles covering a width x height slide at `scale` working pixels per full-resolution pixel, boxes clipped to the
 * slide. Deterministic, so a resumed job finds the tiles it already stored by their box.
 */
export function planTiles(width: number, height: number, scale: number, side = TILE_SIDE, stride = side / 2): TilePlan[] {
  const W = Math.max(1, Math.floor(width * scale)), H = Math.max(1, Math.floor(height * scale));
  const m = (side - stride) / 2;
  const span = (i: number, length: number) => {
    const o0 = i * stride, o1 = Math.min(length, o0 + stride);
    const b0 = Math.max(0, o0 - m), b1 = Math.min(length, o0 + stride + m);
    return { o0, o1, b0, b1 };
  };
  const out: TilePlan[] = [];
  for (let j = 0; j * stride < H; j++) {
    const v = span(j, H);
    for (let i = 0; i * stride < W; i++) {
      const u = span(i, W);
      const box = { x: u.b0, y: v.b0, width: u.b1 - u.b0, height: v.b1 - v.b0 };
      const source = {
        x: Math.round(u.b0 / scale),
        y: Math.round(v.b0 / scale),
        width: Math.min(width, Math.round(u.b1 / scale)) - Math.round(u.b0 / scale),
        height: Math.min(height, Math.round(v.b1 / scale)) - Math.round(v.b0 / scale),
      };
      out.push({ box, owned: { x: u.o0, y: v.o0, width: u.o1 - u.o0, height: v.o1 - v.o0 }, source });
    }
  }
  return out;
}

/**
 * Tissue of a slide seen small (grey in [0,1], e.g. its smallest pyramid level): pixels that differ from the
 * background by more than TISSUE_CONTRAST or 4 robust deviations. The background is the image's median: a slide is
 * mostly glass (brightfield: bright; SHG or fluorescence: dark), and the rule needs no knowledge of which.
 */
export function tissueMask(grey: GreyImage): Uint8Array {
  const n = grey.data.length;
  const sorted = Float32Array.from(grey.data).sort();
  const background = sorted[Math.floor(n / 2)];
  const dev = new Float32Array(n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(grey.data[i] - background);
  const mad = Float32Array.from(dev).sort()[Math.floor(n / 2)];
  const threshold = Math.max(TISSUE_CONTRAST, 4 * 1.4826 * mad);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = dev[i] > threshold ? 1 : 0;
  return mask;
}

/** Grey difference from the background that counts as tissue: 8 grey levels of 255 (above scanner noise, ~3 levels). */
export const TISSUE_CONTRAST = 8 / 255;

/** A tile is computed when at least this fraction of its owned square is tissue (a core edge, not a speck of dust). */
export const MIN_TISSUE = 0.01;

/** The fraction of `r` (working pixels) that `mask` (the slide at `maskScale` of the working resolution) marks tissue. */
export function tissueFraction(mask: Uint8Array, maskWidth: number, maskHeight: number, maskScale: number, r: Region): number {
  const x0 = Math.max(0, Math.floor(r.x * maskScale)), y0 = Math.max(0, Math.floor(r.y * maskScale));
  const x1 = Math.min(maskWidth, Math.ceil((r.x + r.width) * maskScale)), y1 = Math.min(maskHeight, Math.ceil((r.y + r.height) * maskScale));
  let on = 0, all = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++, all++) on += mask[y * maskWidth + x];
  return all === 0 ? 0 : on / all;
}

/** A stored tile's CoMIR and where its box and owned square lie, in working pixels of the slide. */
export interface WorkingTile {
  box: Region;
  owned: Region;
  comir: GreyImage;
}

/**
 * The slide's CoMIR over `region` (working pixels), each pixel from the tile that owns it; NaN (no data) where no
 * tile was stored (background).
 */
export function assembleRegion(region: Region, tiles: readonly WorkingTile[]): GreyImage {
  const { width, height } = region;
  const data = new Float32Array(width * height).fill(NaN);
  for (const t of tiles) {
    const x0 = Math.max(region.x, t.owned.x, t.box.x), y0 = Math.max(region.y, t.owned.y, t.box.y);
    const x1 = Math.min(region.x + width, t.owned.x + t.owned.width, t.box.x + t.comir.width);
    const y1 = Math.min(region.y + height, t.owned.y + t.owned.height, t.box.y + t.comir.height);
    for (let y = y0; y < y1; y++) {
      const src = (y - t.box.y) * t.comir.width - t.box.x;
      const dst = (y - region.y) * width - region.x;
      for (let x = x0; x < x1; x++) data[dst + x] = t.comir.data[src + x];
    }
  }
  return { width, height, data };
}
