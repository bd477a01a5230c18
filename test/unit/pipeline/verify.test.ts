import { beforeAll, describe, expect, it } from 'vitest';
import { type WordMap, wordMapFromFeatures } from '../../../src/pipeline/index/bow.ts';
import { iouPolygons, rigidAbout, applyAffine, type Point } from '../../../src/pipeline/rerank/geometry.ts';
import { denseSurf } from '../../../src/pipeline/features/surf.ts';
import type { GreyImage } from '../../../src/pipeline/types.ts';
import { verify } from '../../../src/pipeline/rerank/verify.ts';
import { createQuantizer, type Quantizer, selectStrongest, trainVocabulary } from '../../../src/pipeline/index/vocabulary.ts';
import { rotatedView, texturedImage } from '../../helpers/synthetic-images.ts';

const SIZE = 256;
const N = 6;

describe('spatial verification (rotation sweep + Hough voting on word maps)', () => {
  const images: GreyImage[] = [];
  const maps: WordMap[] = [];
  let qz: Quantizer;

  beforeAll(() => {
    for (let i = 0; i < N; i++) images.push(texturedImage(SIZE, SIZE, 4000 + i));
    const feats = images.map((im) => denseSurf(im));
    qz = createQuantizer(trainVocabulary(selectStrongest(feats), 64, { size: 1500, seed: 1, maxIterations: 8 }));
    feats.forEach((f) => maps.push(wordMapFromFeatures(f, qz.quantize(f.descriptors))));
  });

  const candidates = () => maps.map((wordMap, i) => ({ entryId: i, width: SIZE, height: SIZE, wordMap }));

  it.each([
    [0, 0, 0],
    [25, 10, -6],
    [-30, -8, 12],
  ])('a %s-degree, (%s, %s)-shifted view of an image ranks it first and recovers its footprint', (angle, sx, sy) => {
    const target = 3;
    const cx = SIZE / 2 + sx, cy = SIZE / 2 + sy;
    const w = 120, h = 120;
    const query = rotatedView(images[target], cx, cy, angle, w, h);
    const res = verify(query, (d) => qz.quantize(d), candidates(), 1500);
    expect(res[0].entryId).toBe(target);
    // z-scores of chance peaks in a sparse accumulator are large too (about 20 here): ask for a clear margin.
    expect(res[0].score).toBeGreaterThan(1.5 * res[1].score);
    // true footprint: the view's corners mapped back into the image. rotatedView samples the image at
    // centre + R(angle) (q - view centre), i.e. image = rotation about the view centre, then translation to (cx, cy).
    const truth: Point[] = ([[0, 0], [w, 0], [w, h], [0, h]] as Point[]).map((p) => applyAffine(rigidAbout(angle, w / 2, h / 2, cx - w / 2, cy - h / 2), p));
    expect(iouPolygons(res[0].footprint, truth)).toBeGreaterThan(0.6);
    expect(Math.abs(res[0].angle - angle)).toBeLessThanOrEqual(5);
  });
});
