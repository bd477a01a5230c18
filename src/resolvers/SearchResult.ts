import type { RerankMode, SearchResultResolvers } from './__generated__/resolvers-types.ts';

export const SearchResult: SearchResultResolvers = {
  rerank: (r) => r.rerank.toUpperCase() as RerankMode,
  vocabulary: async (r, _, { loaders }) => (await loaders.vocabulary.load(r.vocabularyId))!,
};
