import { z } from 'zod';
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

  /** ANNOTATION_TIMEOUT_SECONDS: an annotation job's process is killed after this wall time. */
  annotationTimeoutSeconds: number;
  /** ANNOTATION_MAX_MEMORY_MB: an annotation job's process is killed above this RSS (and V8 heap). */
  annotationMaxMemoryMb: number;
}

const MIB = 1024 * 1024;

const schema = z.object({
  ...serviceEnvFields,
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

  ...annotationEnvFields,
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

    annotationTimeoutSeconds: e.ANNOTATION_TIMEOUT_SECONDS,
    annotationMaxMemoryMb: e.ANNOTATION_MAX_MEMORY_MB,
  };
}
