/** Image warps for generating transformed queries (benchmarks, tests): bilinear, zero outside the source. */
import { type Affine, invertAffine } from './geometry.ts';
import type { PlanarImage, Region } from '../types.ts';

/**
 * out(q) = src(M^-1 q) for an affine M mapping source pixel coordinates to output ones (OpenCV warpAffine
 * convention; pixel centres at integer coordinates). Pixels that fall outside the source are 0.
 */
export function warpAffine(src: PlanarImage, m: Affine, width = src.width, height = src.height): PlanarImage {
  const inv = invertAffine(m);
  const { channels: C, width: W, height: H, data } = src;
  const out = new Float32Array(width * height * C);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = inv[0] * x + inv[1] * y + inv[2];
      const sy = inv[3] * x + inv[4] * y + inv[5];
      if (sx < 0 || sy < 0 || sx > W - 1 || sy > H - 1) continue;
      const x0 = Math.min(W - 2, Math.floor(sx)), y0 = Math.min(H - 2, Math.floor(sy));
      const fx = sx - x0, fy = sy - y0;
      const i00 = (y0 * W + x0) * C, i10 = i00 + C, i01 = i00 + W * C, i11 = i01 + C;
      const o = (y * width + x) * C;
      for (let c = 0; c < C; c++) {
        out[o + c] =
          (1 - fy) * ((1 - fx) * data[i00 + c] + fx * data[i10 + c]) + fy * ((1 - fx) * data[i01 + c] + fx * data[i11 + c]);
      }
    }
  }
  return { width, height, channels: C, data: out };
}

/** A copy of a rectangle of an image (must lie inside it). */
export function crop(src: PlanarImage, r: Region): PlanarImage {
  const { channels: C, width: W } = src;
  const out = new Float32Array(r.width * r.height * C);
  for (let y = 0; y < r.height; y++) {
    out.set(src.data.subarray(((r.y + y) * W + r.x) * C, ((r.y + y) * W + r.x + r.width) * C), y * r.width * C);
  }
  return { width: r.width, height: r.height, channels: C, data: out };
}
