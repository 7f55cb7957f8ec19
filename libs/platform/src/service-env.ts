import { z } from 'zod';
import { parsePublicEndpoint, type MinioStoreOptions } from '@fl/storage';
import { readCaBundle } from './ca-bundle';

/**
 * Environment variables shared by the platform's services (api, aggregator), validated the same
 * way everywhere: each problem names the variable and what was expected; secrets are never echoed.
 */

export const envText = (what: string) =>
  z.string({ required_error: `is required (${what})` }).min(1, `is required (${what})`);

export const envWholeNumber = (what: string, min: number, max: number) =>
  z
    .string({ required_error: `is required (${what})` })
    .regex(/^\d+$/, `must be ${what}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be ${what}`);

export const envFlag = (what: string, yes: string[], no: string[]) =>
  z
    .string({ required_error: `is required (${what})` })
    .transform((v) => v.trim().toLowerCase())
    .refine((v) => yes.includes(v) || no.includes(v), `must be ${what}`)
    .transform((v) => yes.includes(v));

export const envUrl = (schemes: string[], example: string) =>
  envText(`a URL such as ${example}`).refine((v) => {
    try {
      return schemes.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL such as ${example}`);

/** Postgres, Redis and the object store: what the api and the aggregator both connect to. */
export const serviceEnvFields = {
  DATABASE_URL: envUrl(['postgres:', 'postgresql:'], 'postgresql://user:password@host:5432/scprivacy'),
  REDIS_URL: envUrl(['redis:', 'rediss:'], 'redis://host:6379'),
  // Read here, so a bad file is reported with the other configuration problems.
  REDIS_CA_FILE: envText('a PEM file of CA certificates')
    .transform((file, ctx) => {
      try {
        return { file, certificates: readCaBundle(file) };
      } catch (e) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `is not a usable CA bundle: ${(e as Error).message}`,
        });
        return z.NEVER;
      }
    })
    .optional(),
  S3_ENDPOINT: envText('the S3 / MinIO host name, e.g. minio.example.org'),
  S3_PORT: envWholeNumber('a port number between 1 and 65535', 1, 65535),
  S3_USE_SSL: envFlag('true or false', ['true', '1', 'on', 'yes'], ['false', '0', 'off', 'no']),
  S3_ACCESS_KEY: envText('the S3 access key'),
  S3_SECRET_KEY: envText('the S3 secret key'),
  S3_BUCKET: envText('the bucket name').refine(
    (v) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v),
    'must be an S3 bucket name: 3-63 lower-case letters, digits, dots and dashes',
  ),
  S3_PUBLIC_ENDPOINT: envText('the object store address workers outside the cluster use')
    .superRefine((v, ctx) => {
      try {
        parsePublicEndpoint(v);
      } catch (e) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
      }
    })
    .optional(),
};

export interface ServiceConnections {
  databaseUrl: string;
  redisUrl: string;
  /** REDIS_CA_FILE's certificates: trusted for a rediss:// REDIS_URL besides the system roots. */
  redisCa?: string[];
  /** The MinioObjectStore options of @fl/storage. */
  s3: MinioStoreOptions;
}

/** A missing or malformed variable; the service prints `message` alone and exits with code 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Validates `env` against `schema`. An empty variable counts as missing (a blank line in a .env
 * file). Throws ConfigError listing every problem on one line.
 */
export function parseEnv<S extends z.ZodTypeAny>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
    throw new ConfigError(`Configuration error: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** The connection settings from validated shared fields. */
export function serviceConnections(e: {
  DATABASE_URL: string;
  REDIS_URL: string;
  REDIS_CA_FILE?: { file: string; certificates: string[] };
  S3_ENDPOINT: string;
  S3_PORT: number;
  S3_USE_SSL: boolean;
  S3_ACCESS_KEY: string;
  S3_SECRET_KEY: string;
  S3_BUCKET: string;
  S3_PUBLIC_ENDPOINT?: string;
}): ServiceConnections {
  if (e.REDIS_CA_FILE && !e.REDIS_URL.startsWith('rediss:')) {
    // The CA would be ignored and the queue traffic (institution passwords included) sent in clear.
    throw new ConfigError(
      'Configuration error: REDIS_CA_FILE is set but REDIS_URL is a plain redis:// URL; use rediss:// for TLS',
    );
  }
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    ...(e.REDIS_CA_FILE ? { redisCa: e.REDIS_CA_FILE.certificates } : {}),
    s3: {
      endPoint: e.S3_ENDPOINT,
      port: e.S3_PORT,
      useSSL: e.S3_USE_SSL,
      accessKey: e.S3_ACCESS_KEY,
      secretKey: e.S3_SECRET_KEY,
      bucket: e.S3_BUCKET,
      ...(e.S3_PUBLIC_ENDPOINT ? { publicEndpoint: e.S3_PUBLIC_ENDPOINT.trim() } : {}),
    },
  };
}

/** A service could not start for a reason outside its code (a server down, a wrong address). */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Runs a start-up step; a failure becomes a StartupError saying what could not be reached. */
export async function startupStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw new StartupError(`${what}: ${(e as Error).message.split('\n')[0]}`);
  }
}
