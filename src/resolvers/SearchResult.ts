import type { SearchResultResolvers } from './__generated__/resolvers-types.ts';

export const SearchResult: SearchResultResolvers = {
  vocabulary: async (r, _, { loaders }) => (await loaders.vocabulary.load(r.vocabularyId))!,
};
