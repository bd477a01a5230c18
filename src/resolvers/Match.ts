import type { MatchResolvers } from './__generated__/resolvers-types.ts';

export const Match: MatchResolvers = {
  image: async (m, _, { loaders }) => (await loaders.image.load(m.imageId))!,
  footprint: (m) => m.footprint?.map(([x, y]) => ({ x, y })) ?? null,
  footprintMicrons: async (m, _, { loaders }) => {
    const um = (await loaders.image.load(m.imageId))?.micronsPerPixel;
    return um && m.footprint ? m.footprint.map(([x, y]) => ({ x: x * um, y: y * um })) : null;
  },
};
