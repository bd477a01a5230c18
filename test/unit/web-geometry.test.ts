/** The dashboard's overlay geometry (web/app/src/geometry.ts): pure functions, no browser. */
import { describe, expect, test } from 'vitest';
import { footprint } from '../../src/services/link.service.ts';
import { applyAffine, hitPolygon, invertAffine, matchPolygon, parseRegion, pointInPolygon, polygonArea, rectPolygon, svgMatrix, svgPoints } from '../../web/app/src/geometry.ts';

const rot30 = [Math.cos(Math.PI / 6), -Math.sin(Math.PI / 6), 120, Math.sin(Math.PI / 6), Math.cos(Math.PI / 6), 60];

describe('footprints', () => {
  test('a link region parses as a polygon; anything else is null', () => {
    expect(parseRegion([[0, 0], [10, 0], [10, 5]])).toEqual([[0, 0], [10, 0], [10, 5]]);
    expect(parseRegion(null)).toBeNull();
    expect(parseRegion([[0, 0], [1, 1]])).toBeNull(); // two points enclose nothing
    expect(parseRegion([[0, 0], [1, 'a'], [2, 2]])).toBeNull();
    expect(parseRegion([[0, 0], [1, 1, 1], [2, 2]])).toBeNull();
    expect(parseRegion({ x: 1 })).toBeNull();
  });

  test("a match's polygon: its rotated corners when re-ranked, else its bounding region", () => {
    const fp = [{ x: 1, y: 2 }, { x: 3, y: 2 }, { x: 3, y: 4 }, { x: 1, y: 4 }];
    expect(matchPolygon({ footprint: fp, region: { x: 0, y: 0, width: 9, height: 9 } })).toEqual([[1, 2], [3, 2], [3, 4], [1, 4]]);
    expect(matchPolygon({ footprint: null, region: { x: 5, y: 6, width: 10, height: 20 } })).toEqual([[5, 6], [15, 6], [15, 26], [5, 26]]);
    expect(matchPolygon({})).toBeNull();
  });

  test('SVG points scale image pixels to display pixels', () => {
    expect(svgPoints(rectPolygon({ x: 10, y: 20, width: 30, height: 40 }), 0.5)).toBe('5,10 20,10 20,30 5,30');
    expect(svgPoints([[1 / 3, 2 / 3], [1, 0], [0, 1]])).toBe('0.33,0.67 1,0 0,1');
  });
});

describe('hit tests', () => {
  // the server's own footprint of a 96 x 96 source rotated 30 degrees (services/link.service.ts)
  const rotated = footprint(rot30, 96, 96);

  test('a point is inside a rotated footprint by its shape, not its bounding box', () => {
    const centre = applyAffine(rot30, [48, 48]);
    expect(pointInPolygon(centre, rotated)).toBe(true);
    // the bounding box's corner lies outside the rotated square
    const xs = rotated.map((p) => p[0]);
    const ys = rotated.map((p) => p[1]);
    expect(pointInPolygon([Math.min(...xs) + 2, Math.min(...ys) + 2], rotated)).toBe(false);
    expect(Math.abs(polygonArea(rotated))).toBeCloseTo(96 * 96, 6);
  });

  test('the smallest footprint under the click wins; none: -1; links without a footprint are skipped', () => {
    const big = rectPolygon({ x: 0, y: 0, width: 200, height: 200 });
    const small = rectPolygon({ x: 50, y: 50, width: 20, height: 20 });
    expect(hitPolygon([60, 60], [big, null, small])).toBe(2);
    expect(hitPolygon([10, 10], [big, null, small])).toBe(0);
    expect(hitPolygon([300, 10], [big, null, small])).toBe(-1);
  });
});

describe('transforms', () => {
  test("SVG's matrix(a b c d e f) of a row-major 2x3 maps points as the affine does", () => {
    expect(svgMatrix([1, 0, 70, 0, 1, 50])).toBe('matrix(1 0 0 1 70 50)');
    const m = svgMatrix(rot30).match(/matrix\((.*)\)/)![1].split(' ').map(Number);
    // SVG 1.1: x' = a x + c y + e, y' = b x + d y + f
    const [x, y] = [30, 70];
    const [ex, ey] = applyAffine(rot30, [x, y]);
    expect(m[0] * x + m[2] * y + m[4]).toBeCloseTo(ex, 4);
    expect(m[1] * x + m[3] * y + m[5]).toBeCloseTo(ey, 4);
  });

  test('the inverse maps target pixels back to source pixels; a singular transform is refused', () => {
    const inv = invertAffine(rot30);
    const back = applyAffine(inv, applyAffine(rot30, [17, 83]));
    expect(back[0]).toBeCloseTo(17, 9);
    expect(back[1]).toBeCloseTo(83, 9);
    expect(invertAffine([2, 0, 10, 0, 4, 20])).toEqual([0.5, -0, -5, -0, 0.25, -5]);
    expect(() => invertAffine([1, 2, 0, 2, 4, 0])).toThrow(/singular/);
  });
});
