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
  readLimits: UploadReadLimits;
  /** Decompressed bytes of an imported model bundle (all entries, headers included). */
  bundleMaxBytes: number;
}

/** Mirrors @fl/formats' ReadLimits (to be unified with it). */
export interface UploadReadLimits {
  maxDecompressedBytes: number;
  maxCells: number;
  maxGenes: number;
  maxLineBytes: number;
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
    },
    bundleMaxBytes: e.BUNDLE_MAX_BYTES,
  };
}
