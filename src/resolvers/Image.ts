import { toGlobalId } from '../ids.ts';
import type { PyramidInfo } from '../pipeline/decode/pyramid.ts';
import type { ImageResolvers, TilingState } from './__generated__/resolvers-types.ts';

export const Image: ImageResolvers = {
  id: (image) => toGlobalId('Image', image.id),
  slide: (image, _, { loaders }) => (image.slideId === null ? null : loaders.slide.load(image.slideId)),
  modality: async (image, _, { loaders }) => (await loaders.modality.load(image.modalityId))!,
  links: (image, _, { loaders }) => loaders.imageLinks.load(image.id),
  thumbnailUrl: (image, { size }, { baseUrl }) =>
    `${baseUrl}/thumbnails/${toGlobalId('Image', image.id)}.png?size=${size ?? 256}`,
  thumbnailDataUrl: async (image, { size }, { services }) => `data:image/png;base64,${(await services.images.inlineThumbnail(image.id, size ?? 256)).toString('base64')}`,
  tileSource: (image, _, { baseUrl }) => `${baseUrl}/iiif/3/${image.id}/info.json`,
  wholeSlide: async (image, _, { services }) => {
    if (!image.pyramid) return null;
    const p = image.pyramid as unknown as PyramidInfo;
    return {
      levels: p.levels.map((l) => ({ width: l.width, height: l.height, downsample: l.downsample })),
      compression: p.compression,
      pixelSizeSource: p.pixelSizeSource ? p.pixelSizeSource.toUpperCase().replace('-', '_') : 'DECLARED',
      tilingState: (image.tilingState ?? 'PENDING') as TilingState,
      tilingError: image.tilingError,
      tiles: await services.wsi.tileCount(image),
    };
  },
};
