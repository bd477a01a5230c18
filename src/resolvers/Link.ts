import { toGlobalId } from '../ids.ts';
import type { LinkResolvers } from './__generated__/resolvers-types.ts';

export const Link: LinkResolvers = {
  id: (link) => toGlobalId('Link', link.id),
  source: async (link, _, { loaders }) => (await loaders.image.load(link.sourceId))!,
  target: (link, _, { loaders }) => (link.targetImageId === null ? null : loaders.image.load(link.targetImageId)),
  targetSlide: (link, _, { loaders }) => (link.targetSlideId === null ? null : loaders.slide.load(link.targetSlideId)),
};
