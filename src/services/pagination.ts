import { decodeCursor, encodeCursor } from '../ids.ts';
import { invalidParameter } from '../errors.ts';

/** Most rows one page may ask for. */
export const MAX_PAGE = 500;

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

export function validatePageArgs(args: { first?: number | null; after?: string | null }): {
  first: number;
  afterId: number | undefined;
} {
  const first = args.first ?? 20;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE) {
    throw invalidParameter('first', `an integer between 0 and ${MAX_PAGE}`, first);
  }
  return { first, afterId: args.after ? decodeCursor(args.after) : undefined };
}

/** Builds a Relay connection from `first + 1` rows fetched in id order (the extra row tells hasNextPage). */
export function pageOf<T extends { id: number }>(rows: T[], first: number, totalCount: number, hasPrevious: boolean): Page<T> {
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(node.id), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: hasPrevious,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  };
}
