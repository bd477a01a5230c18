/** Pixel sizes (micrometres per pixel): declared ones validated, and a model's working resolution (issue 18). */
import { invalidParameter } from '../errors.ts';
import type { ModalityWithModel } from './representation.service.ts';

/** A declared pixel size: micrometres per pixel, > 0 and at most 1000 (a millimetre), or null. */
export function validatePixelSize(value: number | null | undefined): number | null {
  if (value == null) return null;
  if (!(Number.isFinite(value) && value > 0 && value <= 1000)) throw invalidParameter('micronsPerPixel', 'a pixel size in micrometres, > 0 and <= 1000', value);
  return value;
}

/**
 * The shipped pairs' working resolutions (micrometres per pixel), in code rather than in their manifests: a manifest's
 * checksum is the model's version and names its representation space, so editing it would make every stored CoMIR and
 * vector stale (docs/adr/0012 made the same choice for the confidence calibration).
 *
 * shg-bf: 2.0. The data has no pixel size (../shared/data/README.md); its 512 px cores are the study's ~2048 px images
 * downsampled 4x ("one 834 px crop of the paper's data is about 208 px here"). 2.0 um/px is the originals at 0.5 um/px,
 * a 20x scan: an assumption, not a measurement. What it fixes is that slides and queries that declare their pixel
 * size are compared at 4x the scanner's 0.5 um/px, as the network saw its training cores. vis-nir (photographs) has
 * none.
 */
export const SHIPPED_WORKING_RESOLUTION: Readonly<Record<string, number>> = { 'shg-bf': 2.0 };

/**
 * The model's working resolution, micrometres per pixel: its manifest's `working_resolution` (a model trained later),
 * else the shipped pair's; null when it has none (images are then compared at their own pixels).
 */
export function workingMicronsPerPixel(modality: ModalityWithModel): number | null {
  const model = modality.comirModel;
  if (!model) return null;
  const m = model.manifest as { working_resolution?: { microns_per_pixel?: number } } | null | undefined;
  const um = m?.working_resolution?.microns_per_pixel ?? SHIPPED_WORKING_RESOLUTION[model.name];
  return typeof um === 'number' && um > 0 ? um : null;
}
