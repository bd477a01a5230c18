/**
 * Pure geometry of the dashboard's overlays: footprints (polygons in a target image's pixels), the affine transforms
 * of links and matches (2x3, row-major, source pixels -> target pixels, as the API gives them) and hit tests. No DOM,
 * no React: unit-tested in test/unit/web-geometry.test.ts.
 */

export type Point = [number, number];
export type Polygon = Point[];
/** 2x3 affine, row-major: x' = t0 x + t1 y + t2, y' = t3 x + t4 y + t5. */
export type Affine = readonly number[];

/** A link's `region` (JSON `[[x, y], ...]`) as a polygon; null where it is absent or not a polygon of 3+ points. */
export function parseRegion(region: unknown): Polygon | null {
  if (!Array.isArray(region) || region.length < 3) return null;
  const out: Polygon = [];
  for (const p of region) {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) return null;
    out.push([p[0], p[1]]);
  }
  return out;
}

/** An axis-aligned rectangle as a polygon, clockwise from the top-left corner. */
export function rectPolygon(r: { x: number; y: number; width: number; height: number }): Polygon {
  return [
    [r.x, r.y],
    [r.x + r.width, r.y],
    [r.x + r.width, r.y + r.height],
    [r.x, r.y + r.height],
  ];
}

/** A match's footprint: its corners where re-ranking gave them, else its bounding region, else null. */
export function matchPolygon(m: { footprint?: { x: number; y: number }[] | null; region?: { x: number; y: number; width: number; height: number } | null }): Polygon | null {
  if (m.footprint && m.footprint.length >= 3) return m.footprint.map((p) => [p.x, p.y]);
  return m.region ? rectPolygon(m.region) : null;
}

/** SVG `points` of a polygon scaled by `scale` (image pixels -> display pixels), two decimals. */
export function svgPoints(poly: Polygon, scale = 1): string {
  return poly.map(([x, y]) => `${round2(x * scale)},${round2(y * scale)}`).join(' ');
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Even-odd ray casting: whether `p` lies inside the polygon (points on an edge may fall either way). */
export function pointInPolygon([px, py]: Point, poly: Polygon): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Signed area (shoelace); its absolute value is the polygon's area in square pixels. */
export function polygonArea(poly: Polygon): number {
  let a = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) a += poly[j][0] * poly[i][1] - poly[i][0] * poly[j][1];
  return a / 2;
}

/**
 * Of the polygons that contain `p`, the index of the smallest (a footprint nested in a larger one stays clickable);
 * -1 where none does.
 */
export function hitPolygon(p: Point, polys: readonly (Polygon | null)[]): number {
  let best = -1;
  let bestArea = Infinity;
  polys.forEach((poly, i) => {
    if (!poly || !pointInPolygon(p, poly)) return;
    const area = Math.abs(polygonArea(poly));
    if (area < bestArea) {
      best = i;
      bestArea = area;
    }
  });
  return best;
}

/** Applies a 2x3 affine to a point. */
export function applyAffine(t: Affine, [x, y]: Point): Point {
  return [t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]];
}

/** The inverse of a 2x3 affine (target -> source); throws on a singular one. */
export function invertAffine(t: Affine): number[] {
  const [a, b, c, d, e, f] = t;
  const det = a * e - b * d;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new Error('the transform is singular: it cannot be inverted');
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

/**
 * The SVG/CSS `matrix(a, b, c, d, e, f)` of a row-major 2x3 affine. SVG's matrix maps x' = a x + c y + e and
 * y' = b x + d y + f (SVG 1.1, 7.4 "The transform attribute"), so the row-major [t0 t1 t2; t3 t4 t5] is
 * matrix(t0, t3, t1, t4, t2, t5).
 */
export function svgMatrix(t: Affine): string {
  return `matrix(${[t[0], t[3], t[1], t[4], t[2], t[5]].map((v) => +v.toFixed(6)).join(' ')})`;
}

/** The status colours of footprints (also the legend's). */
export const STATUS_COLOURS: Record<string, string> = { PROPOSED: '#f5a623', CONFIRMED: '#2ecc71', REJECTED: '#e74c3c' };
