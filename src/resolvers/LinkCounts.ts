import type { LinkCountsResolvers } from './__generated__/resolvers-types.ts';

/** Link counts per status (LinkRepository.countByStatus), keyed by the status as stored. */
export const LinkCounts: LinkCountsResolvers = {
  proposed: (c) => c.PROPOSED,
  confirmed: (c) => c.CONFIRMED,
  rejected: (c) => c.REJECTED,
  total: (c) => c.PROPOSED + c.CONFIRMED + c.REJECTED,
};
