import type { ApolloServerOptions, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext } from 'graphql';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from '../config.ts';

/** The `extensions.code` of a query refused by a limit; `extensions.limit` names which one. */
export const QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX';

export type QueryLimitName = 'depth' | 'aliases' | 'cost' | 'tokens' | 'directives';

/** The setting behind each limit (src/config.ts), which the error names so that the operator knows what to raise. */
export const QUERY_LIMIT_SETTINGS: Record<QueryLimitName, string> = {
  depth: 'CMIR_MAX_QUERY_DEPTH',
  aliases: 'CMIR_MAX_QUERY_ALIASES',
  cost: 'CMIR_MAX_QUERY_COST',
  tokens: 'CMIR_MAX_QUERY_TOKENS',
  directives: 'CMIR_MAX_QUERY_DIRECTIVES',
};

/** A limit's message with the setting that sets it: "Aliases limit of 15 exceeded, found 16; CMIR_MAX_QUERY_ALIASES sets the limit." */
export function limitMessage(message: string, limit: QueryLimitName): string {
  return `${message.replace(/\.$/, '')}; ${QUERY_LIMIT_SETTINGS[limit]} sets the limit.`;
}

/** A query refused by one of the limits (reported during validation; src/server/format-error.ts gives it its code). */
export class QueryLimitError extends GraphQLError {
  constructor(
    message: string,
    readonly limit: QueryLimitName,
    readonly max: number,
  ) {
    super(message, { extensions: { code: QUERY_TOO_COMPLEX, limit, max, setting: QUERY_LIMIT_SETTINGS[limit] } });
  }
}

/** graphql-armor writes "Syntax Error: Query depth limit of 10 exceeded, found 404."; it is not a syntax error. */
function reporter(limit: QueryLimitName, max: number) {
  return (ctx: ValidationContext | null, error: GraphQLError) => {
    ctx?.reportError(new QueryLimitError(limitMessage(error.message.replace(/^Syntax Error: /, ''), limit), limit, max));
  };
}

/**
 * The Apollo options that enforce the limits. Depth, aliases, cost and directives are graphql-armor's validation
 * rules, with our own rejection handler so that the error says which limit (armor's default reports every limit as
 * BAD_USER_INPUT, which Apollo then overwrites with GRAPHQL_VALIDATION_FAILED). Tokens: armor 3.2.0's Apollo plugin
 * throws from `parsingDidStart`, outside Apollo's parse-error path: HTTP 500, logged as an unexpected error, and
 * `executeOperation` throws. graphql-js's own `parseOptions.maxTokens` (the same lexer count, inside `parse`) refuses
 * the query as a 400 parse error instead, which formatError turns into QUERY_TOO_COMPLEX.
 * Field suggestions ("Did you mean ...") are hidden unless introspection is on (they would give the schema away), by
 * Apollo's own `hideSchemaDetailsFromClientErrors` rather than armor's plugin (armor types its plugins against
 * @apollo/server's CommonJS build, which this ESM project's types do not accept); armor adds no plugin then.
 */
export function queryLimitOptions(
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
  introspection = false,
): Pick<ApolloServerOptions<BaseContext>, 'validationRules' | 'parseOptions' | 'allowBatchedHttpRequests' | 'hideSchemaDetailsFromClientErrors'> {
  const common = { exposeLimits: true, propagateOnRejection: false } as const;
  const armor = new ApolloArmor({
    maxDepth: { ...common, n: limits.depth, flattenFragments: true, onReject: [reporter('depth', limits.depth)] },
    maxAliases: { ...common, n: limits.aliases, onReject: [reporter('aliases', limits.aliases)] },
    costLimit: { ...common, maxCost: limits.cost, flattenFragments: true, onReject: [reporter('cost', limits.cost)] },
    maxDirectives: { ...common, n: limits.directives, onReject: [reporter('directives', limits.directives)] },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  });
  const { validationRules, allowBatchedHttpRequests } = armor.protect();
  return {
    validationRules,
    allowBatchedHttpRequests,
    parseOptions: { maxTokens: limits.tokens },
    hideSchemaDetailsFromClientErrors: !introspection,
  };
}

/** graphql-js's message when `parseOptions.maxTokens` is exceeded (graphql 16 writes "more that N tokens", sic). */
export const TOKEN_LIMIT_MESSAGE = /^Syntax Error: Document contains more th(?:at|an) (\d+) tokens/;
