import { toGlobalId } from '../ids.ts';
import type { JobResolvers } from './__generated__/resolvers-types.ts';

export const Job: JobResolvers = {
  id: (job) => toGlobalId('Job', job.id),
  progress: (job) => (job.total > 0 ? Math.min(1, job.done / job.total) : 0),
};
