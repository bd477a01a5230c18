import { toGlobalId } from '../ids.ts';
import type { ImageResolvers } from './__generated__/resolvers-types.ts';

export const Image: ImageResolvers = {
  id: (image) => toGlobalId('Image', image.id),
  slide: (image, _, { loaders }) => (image.slideId === null ? null : loaders.slide.load(image.slideId)),
  modality: async (image, _, { loaders }) => (await loaders.modality.load(image.modalityId))!,
  links: (image, _, { loaders }) => loaders.imageLinks.load(image.id),
  thumbnailUrl: (image, { size }, { baseUrl }) =>
    `${baseUrl}/thumbnails/${toGlobalId('Image', image.id)}.png?size=${size ?? 256}`,
};
