/**
 * Colour deconvolution of H&E (Ruifrok & Johnston 2001, "Quantification of histochemical staining by color
 * deconvolution", Anal Quant Cytol Histol 23:291-299): the eosin channel of a brightfield H&E image. The same formula
 * as training/comir/stain.py, which trained the networks that take it (test/unit/stain.test.ts runs both on one image).
 *
 * Beer-Lambert: OD_c = -log10(I_c) for I in [0,1] (white = 1), I floored at 1/255; OD (R, G, B) = amounts (H, E, R) x M,
 * M's rows the unit stain vectors: the paper's haematoxylin and eosin as normalised by scikit-image's rgb2hed, and
 * their normalised cross product as the third (HistomicsTK complement_stain_matrix). Eosin = OD . (column 1 of M^-1),
 * divided by EOSIN_SCALE and clamped to [0,1] (0.5: above the largest 99.9th percentile of eosin, 0.45, over the 31
 * shg-bf colour H&E images; training/README.md).
 */
import { UnsupportedImageError } from '../../errors.ts';
import type { PlanarImage } from '../types.ts';

export const HAEMATOXYLIN = [0.65, 0.7, 0.29] as const;
export const EOSIN = [0.07, 0.99, 0.11] as const;
export const EOSIN_SCALE = 0.5;
export const OD_FLOOR = 1 / 255;

type Vec3 = [number, number, number];

const unit = (v: readonly number[]): Vec3 => {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
};
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** Rows: unit haematoxylin, eosin, and their unit cross product. */
export function stainMatrix(): [Vec3, Vec3, Vec3] {
  const h = unit(HAEMATOXYLIN);
  const e = unit(EOSIN);
  return [h, e, unit(cross(h, e))];
}

/** Column 1 of M^-1 (the adjugate's column over the determinant): eosin = OD . w. */
export function eosinWeights(): Vec3 {
  const [a, b, c] = stainMatrix();
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  // (M^-1)[i][1] = cofactor C[1][i] / det
  return [-(a[1] * c[2] - a[2] * c[1]) / det, (a[0] * c[2] - a[2] * c[0]) / det, -(a[0] * c[1] - a[1] * c[0]) / det];
}

const WEIGHTS = eosinWeights();

/** The eosin channel (1 channel, [0,1]) of an RGB H&E image in [0,1]; a grey image is UNSUPPORTED_IMAGE. */
export function eosinChannel(image: PlanarImage): PlanarImage {
  if (image.channels !== 3) {
    throw new UnsupportedImageError(
      `the model takes the eosin channel of a colour (RGB) H&E image, and this image has ${image.channels} channel(s): ingest or search with the colour scan, not a grey one`,
      { channels: image.channels, expected: 3, normalization: 'eosin' },
    );
  }
  const n = image.width * image.height;
  const out = new Float32Array(n);
  const [wr, wg, wb] = WEIGHTS;
  const od = (v: number) => -Math.log10(Math.min(1, Math.max(OD_FLOOR, v)));
  const d = image.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const e = (od(d[j]) * wr + od(d[j + 1]) * wg + od(d[j + 2]) * wb) / EOSIN_SCALE;
    out[i] = Math.min(1, Math.max(0, e));
  }
  return { width: image.width, height: image.height, channels: 1, data: out };
}
