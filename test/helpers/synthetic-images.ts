/**
 * Deterministic synthetic grey images and geometric transforms for pipeline tests and benchmarks (pure, no I/O).
 */
import { mulberry32 } from '../../src/pipeline/index/kdtree.ts';
import type { GreyImage } from '../../src/pipeline/types.ts';

/** mulberry32: small seeded PRNG returning floats in [0, 1). */
export const rng = mulberry32;

/**
 * A textured image: random oriented Gaussian blobs on a smooth ramp, rescaled to [0, 1]. Each seed also draws the
 * image's "style" (blob density, size range, anisotropy and a preferred orientation), so that different seeds give
 * textures with different statistics, as different tissue cores have (a bag of words cannot tell apart two samples
 * of one stationary texture).
 */
export function texturedImage(width: number, height: number, seed: number, blobs?: number): GreyImage {
  const r = rng(seed);
  const density = 0.4 + 1.6 * r();
  const sMin = 1.2 + 2 * r(), sRange = 2 + 12 * r();
  const aniso = 1 + 3 * r() * r();
  const theta0 = r() * Math.PI, thetaJitter = r() * Math.PI;
  const positive = 0.2 + 0.6 * r();
  const nBlobs = blobs ?? Math.round((density * width * height) / 180);
  // low-frequency field modulating blob size and polarity over the image (non-stationary, like tissue)
  const waves = Array.from({ length: 3 }, () => ({ fx: (r() - 0.5) * 12 / width, fy: (r() - 0.5) * 12 / height, ph: r() * 6.283 }));
  const field = (x: number, y: number): number => waves.reduce((a, w) => a + Math.cos(6.283 * (w.fx * x + w.fy * y) + w.ph), 0) / 3;
  const acc = new Float64Array(width * height);
  const gx = r() - 0.5, gy = r() - 0.5;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) acc[y * width + x] = (gx * x + gy * y) / (width + height);
  for (let b = 0; b < nBlobs; b++) {
    const cx = r() * width, cy = r() * height;
    const fl = field(cx, cy);
    const sa = (sMin + r() * r() * sRange) * (1 + 0.6 * fl), sb = sa / (1 + (aniso - 1) * r());
    const th = theta0 + (r() - 0.5) * thetaJitter, c = Math.cos(th), s = Math.sin(th);
    const amp = (r() < positive + 0.3 * fl ? 1 : -1) * (0.3 + r());
    const ext = 3 * sa;
    const x0 = Math.max(0, Math.floor(cx - ext)), x1 = Math.min(width - 1, Math.ceil(cx + ext));
    const y0 = Math.max(0, Math.floor(cy - ext)), y1 = Math.min(height - 1, Math.ceil(cy + ext));
    const ia = 1 / (2 * sa * sa), ib = 1 / (2 * sb * sb);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x - cx, dy = y - cy;
        const u = c * dx + s * dy, v = -s * dx + c * dy;
        acc[y * width + x] += amp * Math.exp(-u * u * ia - v * v * ib);
      }
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
export function rotatedView(img: GreyImage, centerX: number, centerY: number, angleDeg: number, outW: number, outH: number, zoom = 1): GreyImage {
  const a = (angleDeg * Math.PI) / 180, c = Math.cos(a) / zoom, s = Math.sin(a) / zoom;
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

/**
 * The same content in another "style": contrast `gain`, brightness `offset` and seeded uniform noise of amplitude
 * `noise` (as a second modality, or a restained slide, would show it).
 */
export function restyle(img: GreyImage, seed: number, offset: number, gain: number, noise: number): GreyImage {
  const r = rng(seed);
  return { ...img, data: img.data.map((v) => offset + gain * v + noise * (r() - 0.5)) };
}
