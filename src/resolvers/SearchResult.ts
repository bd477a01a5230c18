import type { FirstStage, RerankMode, SearchResultResolvers } from './__generated__/resolvers-types.ts';

export const SearchResult: SearchResultResolvers = {
  rerank: (r) => r.rerank.toUpperCase() as RerankMode,
  firstStage: (r) => r.firstStage.toUpperCase() as FirstStage,
  vocabulary: async (r, _, { loaders }) => (r.vocabularyId === null ? null : ((await loaders.vocabulary.load(r.vocabularyId)) ?? null)),
};
