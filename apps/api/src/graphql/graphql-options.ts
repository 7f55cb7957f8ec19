import type { IncomingMessage } from 'node:http';
import type { ApolloDriverConfig } from '@nestjs/apollo';
import { HttpException, Logger, UnauthorizedException } from '@nestjs/common';
import type { GraphQLFormattedError } from 'graphql';
import type { Context as WsContext } from 'graphql-ws';
import { unwrapResolverError } from '@apollo/server/errors';
import type { HttpHardeningConfig } from '../config/api-config';
import { TooManyAuthFailures } from '../security/auth-failure-limiter';
import { clientKey } from '../security/client-address';
import { clientAddress, type TrustFunction } from '../security/trust-proxy';
import { ExpressApolloDriver } from './express-apollo.driver';
import { graphqlLimits, subscriptionLimits, withoutSuggestions } from './graphql-limits';

/** Stable GraphQL error codes for the HTTP statuses our services throw. */
const CODES: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

const logger = new Logger('GraphQL');

/**
 * Maps our HttpExceptions to codes, and hides the text of unexpected errors (logged instead).
 * With `hideSuggestions`, "Did you mean …?" is cut from messages (production: no schema hints).
 */
export function errorFormatter(hideSuggestions: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = formatError(formatted, error);
    return hideSuggestions ? { ...result, message: withoutSuggestions(result.message) } : result;
  };
}

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

/** What the guard gets for a request: HTTP's Express request, or this for a subscription. */
interface SubscriptionRequest {
  headers: Headers;
  /** The client's address (behind a trusted proxy, from X-Forwarded-For, as Express's req.ip). */
  ip?: string;
  /** The connection's token was already checked and counted at connection_init. */
  authCountedAtConnect?: boolean;
}

function authorizationParam(params: Record<string, unknown> | undefined): string | undefined {
  const authorization = params?.authorization ?? params?.Authorization;
  return typeof authorization === 'string' ? authorization : undefined;
}

type WsExtra = {
  request?: IncomingMessage;
  socket?: { close(code: number, reason: string): void };
  /** Set by the connection_init check: a connection's one token counts once, not per subscription. */
  authCounted?: boolean;
};

/**
 * The GraphQL context: `{ req }` for HTTP, and for graphql-ws subscriptions a request-like
 * object carrying the `authorization` connection parameter and the client's address, so one
 * guard (and one failed-authentication counter) serves both.
 */
export function graphqlContext(trust: TrustFunction = () => false) {
  return (arg: {
    req?: { headers: Headers };
    connectionParams?: Record<string, unknown>;
    extra?: WsExtra;
  }): { req: { headers: Headers } } => {
    if (arg.req) return { req: arg.req };
    const req: SubscriptionRequest = { headers: { authorization: authorizationParam(arg.connectionParams) } };
    if (arg.extra?.request) req.ip = clientAddress(arg.extra.request, trust);
    if (arg.extra?.authCounted) req.authCountedAtConnect = true;
    return { req };
  };
}

/** What the subscription server needs to check a connection's token. */
export interface TokenCheck {
  authenticate(authorization: string | undefined, client?: string): Promise<unknown>;
}

/**
 * graphql-ws connection_init: a token in the connection parameters is checked at once and counts
 * towards the client's failed authentications like an HTTP request's would (once per connection:
 * its subscriptions reuse the same token). A blocked client's socket is closed with 4429, the
 * reason saying when to retry. An unknown token is still acknowledged, as before: each protected
 * subscription then answers UNAUTHENTICATED through the guard.
 */
export function subscriptionConnectCheck(tokens: TokenCheck, trust: TrustFunction) {
  return async (ctx: WsContext<Record<string, unknown> | undefined, unknown>): Promise<boolean> => {
    const authorization = authorizationParam(ctx.connectionParams);
    if (authorization === undefined) return true;
    const extra = ctx.extra as WsExtra | undefined;
    const request = extra?.request;
    const client = request ? clientKey({ ip: clientAddress(request, trust) }) : undefined;
    try {
      await tokens.authenticate(authorization, client);
    } catch (e) {
      if (e instanceof TooManyAuthFailures) {
        extra?.socket?.close(4429, e.message);
        return false;
      }
      if (!(e instanceof UnauthorizedException)) throw e;
    }
    if (extra) extra.authCounted = true;
    return true;
  };
}

export interface GraphqlOptionsDeps {
  settings: HttpHardeningConfig;
  tokens: TokenCheck;
  trust: TrustFunction;
}

export function graphqlOptions({ settings, tokens, trust }: GraphqlOptionsDeps): ApolloDriverConfig {
  const limits = graphqlLimits(settings);
  const format = errorFormatter(limits.hideSuggestions);
  return {
    driver: ExpressApolloDriver,
    path: '/graphql',
    autoSchemaFile: true,
    sortSchema: true,
    // GraphiQL needs introspection; both are off in production unless GRAPHQL_INTROSPECTION=on.
    graphiql: settings.graphqlIntrospection,
    introspection: settings.graphqlIntrospection,
    validationRules: limits.validationRules,
    parseOptions: limits.parseOptions,
    // One operation per HTTP request: an array body would multiply every limit above.
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    subscriptions: {
      'graphql-ws': {
        path: '/graphql',
        ...subscriptionLimits(limits),
        onConnect: subscriptionConnectCheck(tokens, trust),
        // Subscriptions run outside Apollo Server, so its formatError does not see their errors.
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors ? { ...result, errors: result.errors.map((e) => format(e.toJSON(), e)) } : undefined,
      },
    },
    context: graphqlContext(trust),
    autoTransformHttpErrors: false,
    formatError: format,
  };
}
