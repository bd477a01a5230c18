/**
 * Small plane geometry for rigid query transforms and their ground truth: affine maps, footprints and IoU of a
 * found rectangle with a true (rotated) region.
 */
import type { Region } from '../types.ts';

export type Point = readonly [number, number];
/** 2x3 affine, row-major [a, b, c, d, e, f]: (x, y) -> (a x + b y + c, d x + e y + f). */
export type Affine = readonly [number, number, number, number, number, number];

export function applyAffine(m: Affine, [x, y]: Point): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new RangeError('singular affine');
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/**
 * The rigid transform of the benchmark protocol: rotate by `degrees` about the image centre (cx, cy), then translate
 * by (tx, ty). Maps original pixel coordinates to transformed ones.
 */
export function rigidAbout(degrees: number, cx: number, cy: number, tx: number, ty: number): Affine {
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t), sin = Math.sin(t);
  return [cos, -sin, cx - cos * cx + sin * cy + tx, sin, cos, cy - sin * cx - cos * cy + ty];
}

/**
 * The canvas that holds a w x h image rotated by `degrees` (and scaled by `scale`) about its centre, and the map from
 * image pixels to canvas pixels: the image centre goes to the canvas centre (the views of verify.ts and correlate.ts).
 */
export function rotatedCanvas(w: number, h: number, degrees: number, scale = 1): { width: number; height: number; toView: Affine } {
  const t = (Math.abs(degrees) * Math.PI) / 180;
  const width = Math.ceil(scale * (w * Math.cos(t) + h * Math.sin(t)));
  const height = Math.ceil(scale * (w * Math.sin(t) + h * Math.cos(t)));
  const r = (degrees * Math.PI) / 180, c = scale * Math.cos(r), s = scale * Math.sin(r);
  const [cx, cy, vx, vy] = [(w - 1) / 2, (h - 1) / 2, (width - 1) / 2, (height - 1) / 2];
  return { width, height, toView: [c, -s, vx - c * cx + s * cy, s, c, vy - s * cx - c * cy] };
}

export function rectPolygon(r: Region): Point[] {
  return [
    [r.x, r.y],
    [r.x + r.width, r.y],
    [r.x + r.width, r.y + r.height],
    [r.x, r.y + r.height],
  ];
}

/** Signed area (shoelace); positive for counter-clockwise in a y-up frame. */
export function polygonArea(p: readonly Point[]): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const [x1, y1] = p[i], [x2, y2] = p[(i + 1) % p.length];
    s += x1 * y2 - x2 * y1;
  }
  return s / 2;
}

/** Sutherland-Hodgman: the part of a polygon inside an axis-aligned rectangle. */
export function clipToRect(poly: readonly Point[], r: Region): Point[] {
  const edges: [(p: Point) => boolean, (a: Point, b: Point) => Point][] = [
    [(p) => p[0] >= r.x, (a, b) => lerpAtX(a, b, r.x)],
    [(p) => p[0] <= r.x + r.width, (a, b) => lerpAtX(a, b, r.x + r.width)],
    [(p) => p[1] >= r.y, (a, b) => lerpAtY(a, b, r.y)],
    [(p) => p[1] <= r.y + r.height, (a, b) => lerpAtY(a, b, r.y + r.height)],
  ];
  let out: Point[] = [...poly];
  for (const [inside, cut] of edges) {
    const input = out;
    out = [];
    for (let i = 0; i < input.length; i++) {
      const cur = input[i], prev = input[(i + input.length - 1) % input.length];
      if (inside(cur)) {
        if (!inside(prev)) out.push(cut(prev, cur));
        out.push(cur);
      } else if (inside(prev)) out.push(cut(prev, cur));
    }
    if (out.length === 0) break;
  }
  return out;
}

function lerpAtX(a: Point, b: Point, x: number): Point {
  const t = (x - a[0]) / (b[0] - a[0]);
  return [x, a[1] + t * (b[1] - a[1])];
}
function lerpAtY(a: Point, b: Point, y: number): Point {
  const t = (y - a[1]) / (b[1] - a[1]);
  return [a[0] + t * (b[0] - a[0]), y];
}

/** Intersection over union of a rectangle and a convex polygon (e.g. a rotated crop's footprint). */
export function iouRectPolygon(r: Region, poly: readonly Point[]): number {
  const inter = Math.abs(polygonArea(clipToRect(poly, r)));
  const union = r.width * r.height + Math.abs(polygonArea(poly)) - inter;
  return union > 0 ? inter / union : 0;
}

/** Sutherland-Hodgman against a convex clip polygon (either orientation). */
export function clipConvex(subject: readonly Point[], clip: readonly Point[]): Point[] {
  const sign = Math.sign(polygonArea(clip)) || 1;
  let out: Point[] = [...subject];
  for (let i = 0; i < clip.length && out.length > 0; i++) {
    const a = clip[i], b = clip[(i + 1) % clip.length];
    const side = (p: Point) => sign * ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]));
    const input = out;
    out = [];
    for (let j = 0; j < input.length; j++) {
      const cur = input[j], prev = input[(j + input.length - 1) % input.length];
      const sc = side(cur), sp = side(prev);
      if (sc >= 0) {
        if (sp < 0) out.push(intersect(prev, cur, sp, sc));
        out.push(cur);
      } else if (sp >= 0) out.push(intersect(prev, cur, sp, sc));
    }
  }
  return out;
}

function intersect(p: Point, q: Point, sp: number, sq: number): Point {
  const t = sp / (sp - sq);
  return [p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])];
}

/** Intersection over union of two convex polygons. */
export function iouPolygons(a: readonly Point[], b: readonly Point[]): number {
  const inter = Math.abs(polygonArea(clipConvex(a, b)));
  const union = Math.abs(polygonArea(a)) + Math.abs(polygonArea(b)) - inter;
  return union > 0 ? inter / union : 0;
}

/** a after b: x -> a(b(x)). */
export function composeAffine(a: Affine, b: Affine): Affine {
  return [
    a[0] * b[0] + a[1] * b[3], a[0] * b[1] + a[1] * b[4], a[0] * b[2] + a[1] * b[5] + a[2],
    a[3] * b[0] + a[4] * b[3], a[3] * b[1] + a[4] * b[4], a[3] * b[2] + a[4] * b[5] + a[5],
  ];
}

/**
 * Where a query of w x h lands in a match under `transform` (query pixel -> match pixel): its four corners, and their
 * bounding box clipped to the match's `bounds`.
 */
export function footprintOf(transform: Affine, w: number, h: number, bounds: { width: number; height: number }): { footprint: Point[]; region: Region } {
  const footprint = ([[0, 0], [w, 0], [w, h], [0, h]] as Point[]).map((p) => applyAffine(transform, p));
  const xs = footprint.map((p) => p[0]), ys = footprint.map((p) => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs))), y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const x1 = Math.min(bounds.width, Math.ceil(Math.max(...xs))), y1 = Math.min(bounds.height, Math.ceil(Math.max(...ys)));
  return { footprint, region: { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) } };
}
