import { z } from 'zod';

/** The api's settings, read once at start-up; nothing else reads process.env. */
export interface ApiConfig {
  databaseUrl: string;
  redisUrl: string;
  s3: {
    endPoint: string;
    port: number;
    useSSL: boolean;
    accessKey: string;
    secretKey: string;
    bucket: string;
  };
  /** Seals every consortium CA's private key (a passphrase per consortium is derived from it). */
  masterKey: string;
  /** The platform operator's token: may create consortia. */
  platformAdminToken: string;
  port: number;
  host: string;
  uploadMaxBytes: number;
  annotationWorker: boolean;
}

/** A missing or malformed variable; main prints `message` alone and exits with code 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const MIB = 1024 * 1024;

const text = (what: string) =>
  z.string({ required_error: `is required (${what})` }).min(1, `is required (${what})`);

const wholeNumber = (what: string, min: number, max: number) =>
  z
    .string({ required_error: `is required (${what})` })
    .regex(/^\d+$/, `must be ${what}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be ${what}`);

const flag = (what: string, yes: string[], no: string[]) =>
  z
    .string({ required_error: `is required (${what})` })
    .transform((v) => v.trim().toLowerCase())
    .refine((v) => yes.includes(v) || no.includes(v), `must be ${what}`)
    .transform((v) => yes.includes(v));

const url = (schemes: string[], example: string) =>
  text(`a URL such as ${example}`).refine((v) => {
    try {
      return schemes.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL such as ${example}`);

const schema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgresql://user:password@host:5432/scprivacy'),
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://host:6379'),
  S3_ENDPOINT: text('the S3 / MinIO host name, e.g. minio.example.org'),
  S3_PORT: wholeNumber('a port number between 1 and 65535', 1, 65535),
  S3_USE_SSL: flag('true or false', ['true', '1', 'on', 'yes'], ['false', '0', 'off', 'no']),
  S3_ACCESS_KEY: text('the S3 access key'),
  S3_SECRET_KEY: text('the S3 secret key'),
  S3_BUCKET: text('the bucket name').refine(
    (v) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v),
    'must be an S3 bucket name: 3-63 lower-case letters, digits, dots and dashes',
  ),
  SCPRIVACY_MASTER_KEY: z
    .string({ required_error: 'is required (a secret of at least 32 characters)' })
    .min(32, 'must be at least 32 characters long'),
  PLATFORM_ADMIN_TOKEN: z
    .string({ required_error: "is required (the platform operator's secret token)" })
    .min(16, 'must be at least 16 characters long'),
  API_PORT: wholeNumber('a port number between 0 and 65535', 0, 65535).default('3000'),
  API_HOST: text('a host name or IP address to listen on').default('127.0.0.1'),
  UPLOAD_MAX_BYTES: wholeNumber('a whole number of bytes (at least 1)', 1, Number.MAX_SAFE_INTEGER).default(
    String(512 * MIB),
  ),
  ANNOTATION_WORKER: flag('on or off', ['on', 'true', '1', 'yes'], ['off', 'false', '0', 'no']).default('on'),
});

/**
 * Validates the environment. Every problem is reported on one line, naming the variable and
 * what was expected; secret values are never echoed.
 */
export function parseApiConfig(env: Record<string, string | undefined>): ApiConfig {
  // An empty variable is as good as a missing one (a blank line in a .env file).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
    throw new ConfigError(`Configuration error: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    s3: {
      endPoint: e.S3_ENDPOINT,
      port: e.S3_PORT,
      useSSL: e.S3_USE_SSL,
      accessKey: e.S3_ACCESS_KEY,
      secretKey: e.S3_SECRET_KEY,
      bucket: e.S3_BUCKET,
    },
    masterKey: e.SCPRIVACY_MASTER_KEY,
    platformAdminToken: e.PLATFORM_ADMIN_TOKEN,
    port: e.API_PORT,
    host: e.API_HOST,
    uploadMaxBytes: e.UPLOAD_MAX_BYTES,
    annotationWorker: e.ANNOTATION_WORKER,
  };
}
