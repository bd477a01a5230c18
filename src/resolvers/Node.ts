import type { NodeResolvers } from './__generated__/resolvers-types.ts';

export const Node: NodeResolvers = {
  __resolveType: (node) => (node as unknown as { __typename: "Image" | "Slide" | "Modality" | "Job" | "Vocabulary" | "Link" }).__typename,
};
