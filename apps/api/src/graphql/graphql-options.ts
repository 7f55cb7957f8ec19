import type { ApolloDriverConfig } from '@nestjs/apollo';
import { HttpException, Logger } from '@nestjs/common';
import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ExpressApolloDriver } from './express-apollo.driver';

/** Stable GraphQL error codes for the HTTP statuses our services throw. */
const CODES: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  503: 'SERVICE_UNAVAILABLE',
};

const logger = new Logger('GraphQL');

/** Maps our HttpExceptions to codes, and hides the text of unexpected errors (logged instead). */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof HttpException) {
    const status = original.getStatus();
    return {
      message: original.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: CODES[status] ?? 'INTERNAL_SERVER_ERROR', status },
    };
  }
  // Parse and validation errors carry their own codes; INTERNAL_SERVER_ERROR is an error thrown
  // by our code that is not an HttpException: a bug, whose text may reveal internals.
  if (formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
  logger.error(original instanceof Error ? (original.stack ?? original.message) : String(original));
  return {
    message: 'Internal error; the operator can find the details in the api log.',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

type Headers = Record<string, string | string[] | undefined>;

/**
 * The GraphQL context: `{ req }` for HTTP, and for graphql-ws subscriptions a request-like
 * object carrying the `authorization` connection parameter, so one guard serves both.
 */
export function graphqlContext(arg: {
  req?: { headers: Headers };
  connectionParams?: Record<string, unknown>;
}): { req: { headers: Headers } } {
  if (arg.req) return { req: arg.req };
  const params = arg.connectionParams ?? {};
  const authorization = params.authorization ?? params.Authorization;
  return {
    req: { headers: { authorization: typeof authorization === 'string' ? authorization : undefined } },
  };
}

export function graphqlOptions(): ApolloDriverConfig {
  return {
    driver: ExpressApolloDriver,
    path: '/graphql',
    autoSchemaFile: true,
    sortSchema: true,
    graphiql: true,
    introspection: true,
    subscriptions: {
      'graphql-ws': {
        path: '/graphql',
        // Subscriptions run outside Apollo Server, so its formatError does not see their errors.
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors
            ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) }
            : undefined,
      },
    },
    context: graphqlContext,
    autoTransformHttpErrors: false,
    formatError,
  };
}
