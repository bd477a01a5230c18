import { toGlobalId } from '../ids.ts';
import type { ApiKeyResolvers } from './__generated__/resolvers-types.ts';

export const ApiKey: ApiKeyResolvers = {
  id: (key) => toGlobalId('ApiKey', key.id),
  role: (key) => key.role.toUpperCase() as 'READER' | 'CURATOR' | 'ADMIN',
};
