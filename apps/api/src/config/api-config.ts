import { z } from 'zod';
import { DEFAULT_READ_LIMITS, type ReadLimitName, type ReadLimits } from '@fl/formats';
import {
  ConfigError,
  envFlag,
  envText,
  envWholeNumber,
  parseEnv,
  serviceConnections,
  serviceEnvFields,
  type ServiceConnections,
} from '@fl/platform';
import { isTrustProxySetting, trustProxySetting } from '../security/trust-proxy';
import { annotationEnvFields } from '../annotations/annotation-env';

export { ConfigError };

/** The api's settings, read once at start-up; nothing else reads process.env. */
export interface ApiConfig extends ServiceConnections {
  /** Seals every consortium CA's private key (a passphrase per consortium is derived from it). */
  masterKey: string;
  /** The platform operator's token: may create consortia. */
  platformAdminToken: string;
  port: number;
  host: string;
  uploadMaxBytes: number;
  annotationWorker: boolean;
  /** Caps on what reading one uploaded expression file may cost (issue 10). */
  readLimits: ReadLimits;
  /** Where an uploaded file is read: worker threads with a wall-time and heap limit (issue 10). */
  uploadValidation: UploadValidationConfig;
  /** Decompressed bytes of an imported model bundle (all entries, headers included). */
  bundleMaxBytes: number;
  // HTTP hardening (issue 10): security headers, rate limits, GraphQL limits, log format.
  http: HttpHardeningConfig;
  /** ANNOTATION_TIMEOUT_SECONDS: an annotation job's process is killed after this wall time. */
  annotationTimeoutSeconds: number;
  /** ANNOTATION_MAX_MEMORY_MB: an annotation job's process is killed above this RSS (and V8 heap). */
  annotationMaxMemoryMb: number;
  // Slow-drip requests (issue 10): how long one request may take to arrive.
  /** API_REQUEST_TIMEOUT_SECONDS: the whole request (headers and body; 0 = no limit). */
  requestTimeoutSeconds: number;
  /** API_HEADERS_TIMEOUT_SECONDS: the request's headers. */
  headersTimeoutSeconds: number;
}

/** The environment variable that sets each read limit, named in the limit's message. */
export const READ_LIMIT_SETTINGS: Readonly<Record<ReadLimitName, string>> = Object.freeze({
  maxDecompressedBytes: 'UPLOAD_MAX_DECOMPRESSED_BYTES',
  maxCells: 'UPLOAD_MAX_CELLS',
  maxGenes: 'UPLOAD_MAX_GENES',
  maxValues: 'UPLOAD_MAX_VALUES',
  maxLineBytes: 'UPLOAD_MAX_LINE_BYTES',
  maxFieldBytes: 'UPLOAD_MAX_FIELD_BYTES',
});

/** The worker threads that read uploaded files, so that no file holds up the api's event loop. */
export interface UploadValidationConfig {
  /** UPLOAD_VALIDATION_THREADS: files read at once. */
  threads: number;
  /** UPLOAD_VALIDATION_QUEUE: uploads that may wait for a thread; beyond them the answer is 503. */
  queue: number;
  /** UPLOAD_VALIDATION_TIMEOUT_SECONDS: a file still being read after this is refused (413). */
  timeoutSeconds: number;
  /** UPLOAD_VALIDATION_MAX_MEMORY_MB: V8 heap of one reading thread; beyond it the file is refused (413). */
  maxMemoryMb: number;
}

/** Security headers, rate limits, GraphQL limits and log format; see docs/hardening.md. */
export interface HttpHardeningConfig {
  /**
   * GraphQL introspection, GraphiQL and "Did you mean" suggestions (they reveal the schema alike):
   * GRAPHQL_INTROSPECTION, by default off when NODE_ENV=production and on otherwise.
   */
  graphqlIntrospection: boolean;
  graphqlMaxDepth: number;
  graphqlMaxAliases: number;
  graphqlMaxCost: number;
  graphqlMaxTokens: number;
  graphqlMaxDirectives: number;
  /** Requests per minute per client address, all routes; 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** Failed token authentications per minute per client address before 429; 0 turns it off. */
  authFailuresPerMinute: number;
  /** How long a client that reached authFailuresPerMinute is refused (seconds). */
  authFailureBlockSeconds: number;
  /** Express "trust proxy": whose X-Forwarded-For names the client; false = the socket's peer. */
  trustProxy: string | false;
  /** Strict-Transport-Security max-age in seconds; 0 sends no HSTS (plain HTTP on loopback). */
  hstsMaxAgeSeconds: number;
  /** Log lines as JSON (LOG_FORMAT=json) or text. */
  logFormat: 'text' | 'json';
}

const MIB = 1024 * 1024;

const GIB = 1024 * MIB;

/** What one upload may cost once decompressed and parsed; the defaults fit a 2 GiB api. */
const uploadLimitFields = {
  UPLOAD_MAX_DECOMPRESSED_BYTES: envWholeNumber(
    'a whole number of bytes (at least 1)',
    1,
    Number.MAX_SAFE_INTEGER,
  ).default(String(8 * GIB)),
  UPLOAD_MAX_CELLS: envWholeNumber(
    'a whole number of cells (at least 1)',
    1,
    Number.MAX_SAFE_INTEGER,
  ).default('2000000'),
  UPLOAD_MAX_GENES: envWholeNumber(
    'a whole number of genes (at least 1)',
    1,
    Number.MAX_SAFE_INTEGER,
  ).default('100000'),
  UPLOAD_MAX_LINE_BYTES: envWholeNumber('a whole number of bytes (at least 1024)', 1024, 2 * GIB).default(
    String(16 * MIB),
  ),
  UPLOAD_MAX_VALUES: envWholeNumber(
    'a whole number of values (at least 1)',
    1,
    Number.MAX_SAFE_INTEGER,
  ).default(String(DEFAULT_READ_LIMITS.maxValues)),
  UPLOAD_MAX_FIELD_BYTES: envWholeNumber('a whole number of bytes (at least 64)', 64, 2 * GIB).default(
    String(DEFAULT_READ_LIMITS.maxFieldBytes),
  ),
  UPLOAD_VALIDATION_THREADS: envWholeNumber('a whole number of threads between 1 and 64', 1, 64).default('2'),
  UPLOAD_VALIDATION_QUEUE: envWholeNumber('a whole number of uploads between 0 and 10000', 0, 10_000).default(
    '64',
  ),
  UPLOAD_VALIDATION_TIMEOUT_SECONDS: envWholeNumber(
    'a whole number of seconds (at least 1)',
    1,
    7 * 24 * 3600,
  ).default('900'),
  UPLOAD_VALIDATION_MAX_MEMORY_MB: envWholeNumber(
    'a whole number of megabytes (at least 32)',
    32,
    1024 * 1024,
  ).default('1024'),
  BUNDLE_MAX_BYTES: envWholeNumber(
    'a whole number of bytes (at least 1 MiB)',
    MIB,
    Number.MAX_SAFE_INTEGER,
  ).default(String(512 * MIB)),
};

const schema = z.object({
  ...serviceEnvFields,
  ...uploadLimitFields,
  SCPRIVACY_MASTER_KEY: z
    .string({ required_error: 'is required (a secret of at least 32 characters)' })
    .min(32, 'must be at least 32 characters long'),
  PLATFORM_ADMIN_TOKEN: z
    .string({ required_error: "is required (the platform operator's secret token)" })
    .min(16, 'must be at least 16 characters long'),
  API_PORT: envWholeNumber('a port number between 0 and 65535', 0, 65535).default('3000'),
  API_HOST: envText('a host name or IP address to listen on').default('127.0.0.1'),
  UPLOAD_MAX_BYTES: envWholeNumber(
    'a whole number of bytes (at least 1)',
    1,
    Number.MAX_SAFE_INTEGER,
  ).default(String(512 * MIB)),
  ANNOTATION_WORKER: envFlag('on or off', ['on', 'true', '1', 'yes'], ['off', 'false', '0', 'no']).default(
    'on',
  ),
  // HTTP hardening (issue 10)
  NODE_ENV: z.string().optional(),
  GRAPHQL_INTROSPECTION: envFlag(
    'on or off',
    ['on', 'true', '1', 'yes'],
    ['off', 'false', '0', 'no'],
  ).optional(),
  GRAPHQL_MAX_DEPTH: envWholeNumber('a whole number between 1 and 100', 1, 100).default('10'),
  GRAPHQL_MAX_ALIASES: envWholeNumber('a whole number between 0 and 1000', 0, 1000).default('15'),
  GRAPHQL_MAX_COST: envWholeNumber('a whole number between 1 and 1000000', 1, 1_000_000).default('5000'),
  GRAPHQL_MAX_TOKENS: envWholeNumber('a whole number between 100 and 1000000', 100, 1_000_000).default(
    '2000',
  ),
  GRAPHQL_MAX_DIRECTIVES: envWholeNumber('a whole number between 0 and 1000', 0, 1000).default('50'),
  RATE_LIMIT_PER_MINUTE: envWholeNumber('a whole number of requests (0 = no limit)', 0, 10_000_000).default(
    '3000',
  ),
  AUTH_FAILURES_PER_MINUTE: envWholeNumber('a whole number of failures (0 = no limit)', 0, 1_000_000).default(
    '20',
  ),
  AUTH_FAILURE_BLOCK_SECONDS: envWholeNumber(
    'a whole number of seconds between 1 and 86400',
    1,
    86_400,
  ).default('60'),
  API_TRUST_PROXY: envText('off, or an Express "trust proxy" value such as loopback, 1 or 10.0.0.0/8')
    .refine(
      (v) => isTrustProxySetting(v),
      'must be off, true, a number of proxies, or addresses / ranges such as loopback or 10.0.0.0/8',
    )
    .default('off'),
  API_HSTS_MAX_AGE: envWholeNumber('a whole number of seconds (0 = no HSTS header)', 0, 63_072_000).default(
    '0',
  ),
  LOG_FORMAT: z.enum(['text', 'json'], { message: 'must be text or json' }).default('text'),
  ...annotationEnvFields,
  // Slow-drip requests (issue 10). Slow-header clients are cut by the headers timeout; the
  // request timeout bounds an upload's whole transfer, so it stays generous: one hour carries
  // UPLOAD_MAX_BYTES' default 512 MiB at 150 kB/s (an institution's slow link).
  API_REQUEST_TIMEOUT_SECONDS: envWholeNumber('a whole number of seconds (0 = no limit)', 0, 86_400).default(
    '3600',
  ),
  API_HEADERS_TIMEOUT_SECONDS: envWholeNumber(
    'a whole number of seconds between 1 and 3600',
    1,
    3600,
  ).default('30'),
});

/**
 * Validates the environment. Every problem is reported on one line, naming the variable and
 * what was expected; secret values are never echoed.
 */
export function parseApiConfig(env: Record<string, string | undefined>): ApiConfig {
  const e = parseEnv(schema, env);
  return {
    ...serviceConnections(e),
    masterKey: e.SCPRIVACY_MASTER_KEY,
    platformAdminToken: e.PLATFORM_ADMIN_TOKEN,
    port: e.API_PORT,
    host: e.API_HOST,
    uploadMaxBytes: e.UPLOAD_MAX_BYTES,
    annotationWorker: e.ANNOTATION_WORKER,
    readLimits: {
      maxDecompressedBytes: e.UPLOAD_MAX_DECOMPRESSED_BYTES,
      maxCells: e.UPLOAD_MAX_CELLS,
      maxGenes: e.UPLOAD_MAX_GENES,
      maxLineBytes: e.UPLOAD_MAX_LINE_BYTES,
      maxValues: e.UPLOAD_MAX_VALUES,
      maxFieldBytes: e.UPLOAD_MAX_FIELD_BYTES,
    },
    uploadValidation: {
      threads: e.UPLOAD_VALIDATION_THREADS,
      queue: e.UPLOAD_VALIDATION_QUEUE,
      timeoutSeconds: e.UPLOAD_VALIDATION_TIMEOUT_SECONDS,
      maxMemoryMb: e.UPLOAD_VALIDATION_MAX_MEMORY_MB,
    },
    bundleMaxBytes: e.BUNDLE_MAX_BYTES,
    // HTTP hardening (issue 10)
    http: {
      graphqlIntrospection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
      graphqlMaxDepth: e.GRAPHQL_MAX_DEPTH,
      graphqlMaxAliases: e.GRAPHQL_MAX_ALIASES,
      graphqlMaxCost: e.GRAPHQL_MAX_COST,
      graphqlMaxTokens: e.GRAPHQL_MAX_TOKENS,
      graphqlMaxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      authFailuresPerMinute: e.AUTH_FAILURES_PER_MINUTE,
      authFailureBlockSeconds: e.AUTH_FAILURE_BLOCK_SECONDS,
      trustProxy: trustProxySetting(e.API_TRUST_PROXY),
      hstsMaxAgeSeconds: e.API_HSTS_MAX_AGE,
      logFormat: e.LOG_FORMAT,
    },
    annotationTimeoutSeconds: e.ANNOTATION_TIMEOUT_SECONDS,
    annotationMaxMemoryMb: e.ANNOTATION_MAX_MEMORY_MB,
    // Slow-drip requests (issue 10)
    requestTimeoutSeconds: e.API_REQUEST_TIMEOUT_SECONDS,
    headersTimeoutSeconds: e.API_HEADERS_TIMEOUT_SECONDS,
  };
}
