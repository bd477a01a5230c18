import type { Resolvers } from './__generated__/resolvers-types.ts';
import { ApiKey } from './ApiKey.ts';
import { Image } from './Image.ts';
import { Job } from './Job.ts';
import { Link, LinkEvent } from './Link.ts';
import { LinkCounts } from './LinkCounts.ts';
import { Match } from './Match.ts';
import { Modality } from './Modality.ts';
import { Mutation } from './Mutation.ts';
import { Node } from './Node.ts';
import { Query } from './Query.ts';
import { scalars } from './scalars.ts';
import { SearchResult } from './SearchResult.ts';
import { Slide } from './Slide.ts';
import { Subscription } from './Subscription.ts';
import { Vocabulary } from './Vocabulary.ts';

/** One file per GraphQL type (Apollo spotify-showcase layout), merged here. */
export const resolvers: Resolvers = {
  ...scalars,
  Query,
  Mutation,
  Subscription,
  Node,
  Image,
  Slide,
  Modality,
  Job,
  Link,
  LinkEvent,
  LinkCounts,
  ApiKey,
  Vocabulary,
  Match,
  SearchResult,
};
