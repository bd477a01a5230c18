import type { MatchResolvers } from './__generated__/resolvers-types.ts';

export const Match: MatchResolvers = {
  image: async (m, _, { loaders }) => (await loaders.image.load(m.imageId))!,
  footprint: (m) => m.footprint?.map(([x, y]) => ({ x, y })) ?? null,
};
