import { toGlobalId } from '../ids.ts';
import type { LinkEventResolvers, LinkResolvers, LinkStatus } from './__generated__/resolvers-types.ts';

export const Link: LinkResolvers = {
  id: (link) => toGlobalId('Link', link.id),
  source: async (link, _, { loaders }) => (await loaders.image.load(link.sourceId))!,
  target: (link, _, { loaders }) => (link.targetImageId === null ? null : loaders.image.load(link.targetImageId)),
  targetSlide: (link, _, { loaders }) => (link.targetSlideId === null ? null : loaders.slide.load(link.targetSlideId)),
  history: (link, _, { loaders }) => loaders.linkHistory.load(link.id),
};

/** An audit event of a link: the statuses come from the rows the service recorded (LinkService: linkState). */
export const LinkEvent: LinkEventResolvers = {
  fromStatus: (event) => ((event.before as { status?: LinkStatus } | null)?.status ?? null),
  toStatus: (event) => (event.after as { status: LinkStatus }).status,
};
