import { fromGlobalId } from '../ids.ts';
import type { SubscriptionResolvers } from './__generated__/resolvers-types.ts';

/** Wraps each value as the subscription's payload `{ field: value }` (graphql-js resolves the field from it). */
function payloads<K extends string, T>(field: K, values: AsyncIterableIterator<T>): AsyncIterableIterator<Record<K, T>> {
  return {
    next: async () => {
      const r = await values.next();
      return r.done ? { value: undefined, done: true } : { value: { [field]: r.value } as Record<K, T>, done: false };
    },
    return: async () => {
      await values.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Served over WebSocket only (src/server/subscriptions.ts); the services own the events (JobService, LinkService). */
export const Subscription: SubscriptionResolvers = {
  jobUpdated: {
    subscribe: async (_, { id }, { services }) => payloads('jobUpdated', await services.jobs.watch(id ? fromGlobalId('Job', id) : undefined)),
  },
  linkCreated: {
    subscribe: async (_, { filter }, { services }) =>
      payloads(
        'linkCreated',
        await services.links.watch({
          status: filter?.status,
          slideId: filter?.slide ? fromGlobalId('Slide', filter.slide) : undefined,
          sourceModality: filter?.sourceModality,
          targetModality: filter?.targetModality,
          createdAfter: filter?.createdAfter != null ? new Date(filter.createdAfter) : undefined,
        }),
      ),
  },
};
