import { toGlobalId } from '../ids.ts';
import type { JobResolvers } from './__generated__/resolvers-types.ts';

export const Job: JobResolvers = {
  id: (job) => toGlobalId('Job', job.id),
  progress: (job) => (job.total > 0 ? Math.min(1, job.done / job.total) : 0),
  image: async (job, _, { loaders }) => {
    const id =
      job.kind === 'image.ingest' && job.state === 'SUCCEEDED'
        ? (job.result as { imageId?: number } | null)?.imageId
        : job.kind === 'slide.tile'
          ? (job.params as { imageId?: number } | null)?.imageId
          : undefined;
    return typeof id === 'number' ? loaders.image.load(id) : null;
  },
};
