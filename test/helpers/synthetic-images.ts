/**
 * Deterministic synthetic grey images and geometric transforms for pipeline tests and benchmarks (pure, no I/O).
 */
import type { GreyImage } from '../../src/pipeline/types.ts';

/** mulberry32: small seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A textured image: `blobs` random anisotropic Gaussian blobs (sigma 1.5-14 px, random sign) on a smooth ramp,
 * rescaled to [0, 1]. Different seeds give unrelated images.
 */
export function texturedImage(width: number, height: number, seed: number, blobs = Math.round((width * height) / 180)): GreyImage {
  const r = rng(seed);
  const acc = new Float64Array(width * height);
  const gx = r() - 0.5, gy = r() - 0.5;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) acc[y * width + x] = (gx * x + gy * y) / (width + height);
  for (let b = 0; b < blobs; b++) {
    const cx = r() * width, cy = r() * height;
    const sx = 1.5 + r() * r() * 12, sy = 1.5 + r() * r() * 12;
    const amp = (r() < 0.5 ? -1 : 1) * (0.3 + r());
    const x0 = Math.max(0, Math.floor(cx - 3 * sx)), x1 = Math.min(width - 1, Math.ceil(cx + 3 * sx));
    const y0 = Math.max(0, Math.floor(cy - 3 * sy)), y1 = Math.min(height - 1, Math.ceil(cy + 3 * sy));
    for (let y = y0; y <= y1; y++) {
      const ey = ((y - cy) * (y - cy)) / (2 * sy * sy);
      for (let x = x0; x <= x1; x++) acc[y * width + x] += amp * Math.exp(-ey - ((x - cx) * (x - cx)) / (2 * sx * sx));
    }
  }
  let mn = Infinity, mx = -Infinity;
  for (const v of acc) { if (v < mn) mn = v; if (v > mx) mx = v; }
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (acc[i] - mn) / (mx - mn || 1);
  return { width, height, data };
}

/** Exact 90-degree rotation: out(x', y') = in(y', W-1-x'), i.e. pixel (x, y) goes to (H-1-y, x). */
export function rotate90(img: GreyImage): GreyImage {
  const { width: w, height: h, data } = img;
  const out = new Float32Array(w * h);
  // out has width h, height w
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[x * h + (h - 1 - y)] = data[y * w + x];
  return { width: h, height: w, data: out };
}

/** Bilinear sample with replicate borders. */
export function sample(img: GreyImage, x: number, y: number): number {
  const { width: w, height: h, data } = img;
  const cx = Math.min(w - 1, Math.max(0, x)), cy = Math.min(h - 1, Math.max(0, y));
  const x0 = Math.floor(cx), y0 = Math.floor(cy);
  const x1 = Math.min(w - 1, x0 + 1), y1 = Math.min(h - 1, y0 + 1);
  const fx = cx - x0, fy = cy - y0;
  return (data[y0 * w + x0] * (1 - fx) + data[y0 * w + x1] * fx) * (1 - fy) + (data[y1 * w + x0] * (1 - fx) + data[y1 * w + x1] * fx) * fy;
}

/**
 * A `outW` x `outH` view of `img`: output pixel (u, v) shows source point
 * centre + R(angle) * (u - outW/2 + 0.5, v - outH/2 + 0.5) (bilinear, replicate borders).
 * `centerX/centerY` is the source point shown at the output centre; angle in degrees.
 */
export function rotatedView(img: GreyImage, centerX: number, centerY: number, angleDeg: number, outW: number, outH: number): GreyImage {
  const a = (angleDeg * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
  const data = new Float32Array(outW * outH);
  for (let v = 0; v < outH; v++) {
    const dv = v - outH / 2 + 0.5;
    for (let u = 0; u < outW; u++) {
      const du = u - outW / 2 + 0.5;
      data[v * outW + u] = sample(img, centerX - 0.5 + c * du - s * dv, centerY - 0.5 + s * du + c * dv);
    }
  }
  return { width: outW, height: outH, data };
}

/** Axis-aligned crop (integer pixel rectangle). */
export function crop(img: GreyImage, x: number, y: number, w: number, h: number): GreyImage {
  const data = new Float32Array(w * h);
  for (let r = 0; r < h; r++) data.set(img.data.subarray((y + r) * img.width + x, (y + r) * img.width + x + w), r * w);
  return { width: w, height: h, data };
}

/** Intersection over union of two axis-aligned rectangles. */
export function iou(a: { x: number; y: number; width: number; height: number }, b: { x: number; y: number; width: number; height: number }): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.width * a.height + b.width * b.height - inter);
}
