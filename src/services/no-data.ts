/**
 * The declared no-data value of an image or a query (docs/adr/0006), checked the same way for search and ingestion:
 * the value up front, the pixels once decoded.
 */
import { BadUserInputError, optionalInRange } from '../errors.ts';
import { noDataMask } from '../pipeline/decode/nodata.ts';
import type { PlanarImage } from '../pipeline/types.ts';

/** null when absent; else a value in 0..1 of full scale, or BAD_USER_INPUT with `parameter: noDataValue`. */
export function validateNoDataValue(value: number | null | undefined): number | null {
  return optionalInRange('noDataValue', value, 0, 1, 'value');
}

/**
 * Where decoded pixels have data, given the file's no-data value: samples equal to it in every channel, in 5 x 5
 * blocks or larger (pipeline/decode/nodata.ts); null when all are data. An image (or query) that is all no data is refused:
 * there is nothing to match.
 */
export function dataMask(pixels: PlanarImage, value: number, bitDepth: number, what: 'image' | 'query'): Uint8Array | null {
  return requireData(noDataMask(pixels, value, bitDepth), value, what);
}

/** A mask noDataMask computed (here or on a worker thread), refused as dataMask refuses it when nothing is data. */
export function requireData(valid: Uint8Array | null, value: number, what: 'image' | 'query'): Uint8Array | null {
  if (valid && !valid.includes(1)) {
    throw new BadUserInputError(`the ${what} holds no data: every pixel equals noDataValue ${value}`, { parameter: 'noDataValue', value });
  }
  return valid;
}
