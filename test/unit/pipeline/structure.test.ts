import { beforeAll, describe, expect, it } from 'vitest';
import { correlate, downsample, workingImage } from '../../../src/pipeline/rerank/correlate.ts';
import { gradientMagnitude } from '../../../src/pipeline/rerank/structure.ts';
import type { GreyImage } from '../../../src/pipeline/types.ts';
import { rotatedView, texturedImage } from '../../helpers/synthetic-images.ts';

describe('structure: Sobel gradient magnitude', () => {
  it('is 8 x the slope inside a ramp, half that at a replicated border, and NaN beside no data', () => {
    const w = 6, h = 4;
    const ramp: GreyImage = { width: w, height: h, data: Float32Array.from({ length: w * h }, (_, i) => 0.1 * (i % w)) };
    const g = gradientMagnitude(ramp);
    for (let y = 0; y < h; y++) {
      expect(g.data[y * w]).toBeCloseTo(0.4, 6); // x = 0: the border pixel is its own left neighbour
      for (let x = 1; x < w - 1; x++) expect(g.data[y * w + x]).toBeCloseTo(0.8, 6);
    }
    const holed = { ...ramp, data: Float32Array.from(ramp.data) };
    holed.data[1 * w + 3] = Number.NaN;
    const gh = gradientMagnitude(holed);
    const nan = [...gh.data.keys()].filter((i) => Number.isNaN(gh.data[i])).map((i) => [i % w, Math.floor(i / w)]);
    expect(nan).toEqual([[2, 0], [3, 0], [4, 0], [2, 1], [3, 1], [4, 1], [2, 2], [3, 2], [4, 2]]);
  });

  it('is computed after downsampling (the working scale), not before', () => {
    const img = texturedImage(64, 64, 5);
    expect(workingImage(img, 4, 'gradient').data).toEqual(gradientMagnitude(downsample(img, 4)).data);
    expect(workingImage(img, 4).data).toEqual(downsample(img, 4).data);
  });
});

describe('dense correlation of structure', () => {
  const SIZE = 256;
  const images: GreyImage[] = [];
  beforeAll(() => {
    for (let i = 0; i < 6; i++) images.push(texturedImage(SIZE, SIZE, 7100 + i));
  });

  it('finds a view whose contrast is inverted, which correlating the values misses', () => {
    const target = 3;
    // another "band": the same edges, the opposite sign (vegetation is dark in RGB and bright in NIR)
    const view = rotatedView(images[target], SIZE / 2 + 12, SIZE / 2 - 8, 15, 150, 130);
    const query = { ...view, data: view.data.map((v) => 1 - v) };
    const candidates = images.map((image, i) => ({ entryId: i, image }));
    const values = correlate(query, candidates);
    const structure = correlate(query, candidates, { signal: 'gradient' });
    expect(values[0].entryId).not.toBe(target);
    expect(structure[0].entryId).toBe(target);
    expect(structure[0].score).toBeGreaterThan(0.8);
    expect(structure[0].score - structure[1].score).toBeGreaterThan(0.2);
    expect(Math.abs(structure[0].angle - 15)).toBeLessThanOrEqual(2.5);
  });
});
