import { expect, test } from 'vitest';
import { applyAffine, invertAffine, iouPolygons, iouRectPolygon, rectPolygon, rigidAbout } from '../../src/pipeline/rerank/geometry.ts';

test('rigidAbout rotates about the centre and translates; invertAffine undoes it', () => {
  const m = rigidAbout(90, 10, 10, 5, 0);
  const [x, y] = applyAffine(m, [20, 10]); // 10 px right of the centre -> 10 px below it (y down), then +5 in x
  expect(x).toBeCloseTo(15, 9);
  expect(y).toBeCloseTo(20, 9);
  const back = applyAffine(invertAffine(m), [x, y]);
  expect(back[0]).toBeCloseTo(20, 9);
  expect(back[1]).toBeCloseTo(10, 9);
});

test('IoU: identical 1, disjoint 0, half-overlap 1/3, a square and itself rotated 45 degrees', () => {
  const r = { x: 0, y: 0, width: 10, height: 10 };
  expect(iouRectPolygon(r, rectPolygon(r))).toBeCloseTo(1, 9);
  expect(iouRectPolygon(r, rectPolygon({ x: 20, y: 0, width: 10, height: 10 }))).toBe(0);
  expect(iouRectPolygon(r, rectPolygon({ x: 5, y: 0, width: 10, height: 10 }))).toBeCloseTo(1 / 3, 9);
  const rot = rectPolygon(r).map((p) => applyAffine(rigidAbout(45, 5, 5, 0, 0), p));
  // intersection is the regular octagon of the square: area 200 (sqrt2 - 1) = 82.84; union 200 - 82.84
  expect(iouRectPolygon(r, rot)).toBeCloseTo(82.8427 / (200 - 82.8427), 3);
});

test('iouPolygons agrees with the rectangle case and is symmetric', () => {
  const r = { x: 0, y: 0, width: 10, height: 10 };
  const rot = rectPolygon(r).map((p) => applyAffine(rigidAbout(30, 5, 5, 2, 1), p));
  expect(iouPolygons(rectPolygon(r), rot)).toBeCloseTo(iouRectPolygon(r, rot), 9);
  expect(iouPolygons(rot, rectPolygon(r))).toBeCloseTo(iouRectPolygon(r, rot), 9);
  expect(iouPolygons(rot, rot)).toBeCloseTo(1, 9);
});
