import { ApolloArmor } from '@escape.tech/graphql-armor';
// graphql's CommonJS entry, the one Nest, Apollo and graphql-armor load: under Vitest a bare
// 'graphql' resolves to its .mjs twin, whose classes another copy's instanceof checks refuse.
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ParseOptions,
  type Source,
  type ValidationRule,
} from 'graphql/index.js';
import type { HttpHardeningConfig } from '../config/api-config';

/**
 * What one GraphQL document may ask for, so a small request cannot make a large answer (1,000
 * aliases of a nested query once took 5 s and 5.7 MB from 23 KB). Checked before execution:
 * - tokens (graphql-js's own parser limit): bounds the document, and so parse time;
 * - depth, aliases, directives and a static cost (graphql-armor's validation rules);
 * - introspection (__schema, __type) when it is off.
 * HTTP requests go through Apollo Server (validationRules, parseOptions); subscriptions through
 * graphql-ws, which gets the same parse and validate below. Rejections are 400s whose message
 * names the limit.
 */
export interface GraphqlLimits {
  parseOptions: ParseOptions;
  /** Extra validation rules, after graphql-js's specified ones. */
  validationRules: ValidationRule[];
  /** Whether __schema and __type may be asked (Apollo applies this itself over HTTP). */
  introspection: boolean;
  /** Hide "Did you mean …?" in error messages (they reveal field names like introspection). */
  hideSuggestions: boolean;
}

export function graphqlLimits(settings: HttpHardeningConfig): GraphqlLimits {
  const armor = new ApolloArmor({
    // Our own: graphql-js's maxTokens and the suggestion filter also serve subscriptions.
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
    maxDepth: { n: settings.graphqlMaxDepth },
    maxAliases: { n: settings.graphqlMaxAliases },
    maxDirectives: { n: settings.graphqlMaxDirectives },
    costLimit: { maxCost: settings.graphqlMaxCost },
  }).protect();
  return {
    parseOptions: { maxTokens: settings.graphqlMaxTokens },
    validationRules: armor.validationRules,
    introspection: settings.graphqlIntrospection,
    hideSuggestions: !settings.graphqlIntrospection,
  };
}

/** Removes graphql-js's "Did you mean …?" from a message. */
export function withoutSuggestions(message: string): string {
  return message.replace(/\s*Did you mean [^?]*\?/g, '');
}

/** graphql-ws's `parse`, `validate` and `onSubscribe` options with the same limits as HTTP. */
export function subscriptionLimits(limits: GraphqlLimits) {
  return {
    // graphql-ws treats an exception from `parse` as its own failure (closes the socket with
    // 4500); checked here first, a document over the limits is an error message to the client.
    onSubscribe: (_ctx: unknown, _id: string, payload: { query: string }): GraphQLError[] | undefined => {
      try {
        parse(payload.query, limits.parseOptions);
        return undefined;
      } catch (e) {
        if (e instanceof GraphQLError) return [e];
        throw e;
      }
    },
    parse: (source: string | Source): DocumentNode => parse(source, limits.parseOptions),
    validate: (schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] => {
      const rules = [...specifiedRules, ...limits.validationRules];
      if (!limits.introspection) rules.push(NoSchemaIntrospectionCustomRule);
      const errors = validate(schema, document, rules);
      if (!limits.hideSuggestions) return errors;
      for (const error of errors) error.message = withoutSuggestions(error.message);
      return errors;
    },
  };
}
