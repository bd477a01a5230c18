import { toGlobalId } from '../ids.ts';
import type { SlideResolvers } from './__generated__/resolvers-types.ts';

export const Slide: SlideResolvers = {
  id: (slide) => toGlobalId('Slide', slide.id),
  links: (slide, _, { loaders }) => loaders.slideLinks.load(slide.id),
  linkCounts: (slide, _, { loaders }) => loaders.slideLinkCounts.load(slide.id),
  images: (slide, { first, after, modality }, { services }) =>
    services.images.list({ slideId: slide.id, modality }, { first, after }),
};
