import { toGlobalId } from '../ids.ts';
import type { VocabularyParams } from '../services/vocabulary.service.ts';
import type { VocabularyResolvers } from './__generated__/resolvers-types.ts';

export const Vocabulary: VocabularyResolvers = {
  id: (v) => toGlobalId('Vocabulary', v.id),
  modality: (v) => (v.params as unknown as VocabularyParams).modality,
  representation: (v) => (v.params as unknown as VocabularyParams).representation,
};
