import { toGlobalId } from '../ids.ts';
import type { ModalityResolvers } from './__generated__/resolvers-types.ts';

export const Modality: ModalityResolvers = {
  id: (m) => toGlobalId('Modality', m.id),
  normalization: (m) => m.normalization.toUpperCase() as 'LINEAR' | 'LOG1P' | 'PERCENTILE' | 'EOSIN',
  comirModel: (m, _, { loaders }) => loaders.modelName.load(m.id),
  imageCount: (m, _, { loaders }) => loaders.imageCount.load(m.id),
};
