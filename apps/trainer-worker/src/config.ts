import { BACKEND_PREFERENCES, type BackendPreference } from '@fl/engine';
import { INSTITUTION_NAME, readCaBundle } from '@fl/platform';

/** The worker's settings, from the environment; a bad one stops it with a message naming it. */
export interface WorkerConfig {
  institution: string;
  redisUrl: string;
  /** WORKER_REDIS_CA_FILE: the file and its CA certificates, trusted for rediss:// besides the system roots. */
  redisCa?: { file: string; certificates: string[] };
  stateDir: string;
  siteDataDir?: string;
  backend?: BackendPreference;
  /** Encrypts the institution's private key in the state directory. */
  keyPassphrase: string;
  healthPort?: number;
  apiUrl?: string;
  apiToken?: string;
  lockMs?: number;
}

export class ConfigError extends Error {}

/** What `--init` needs: who the institution is and where its encrypted key lives. */
export type IdentityConfig = Pick<WorkerConfig, 'institution' | 'stateDir' | 'keyPassphrase'>;

const needFrom =
  (env: NodeJS.ProcessEnv) =>
  (name: string, what: string): string => {
    const v = env[name]?.trim();
    if (!v) throw new ConfigError(`${name} is not set: expected ${what}`);
    return v;
  };

/**
 * The settings of `--init` alone: a site makes its key and CSR before it has any queue login, so
 * nothing about Redis, the API or the backend is asked for.
 */
export function loadIdentityConfig(env: NodeJS.ProcessEnv = process.env): IdentityConfig {
  const need = needFrom(env);
  const institution = need('INSTITUTION', "this institution's name (lower-case letters, digits, dashes)");
  if (!INSTITUTION_NAME.test(institution)) {
    throw new ConfigError(`INSTITUTION="${institution}": expected lower-case letters, digits and dashes`);
  }
  const keyPassphrase = need(
    'WORKER_KEY_PASSPHRASE',
    'a passphrase (16+ characters) that encrypts the private key at rest',
  );
  if (keyPassphrase.length < 16)
    throw new ConfigError('WORKER_KEY_PASSPHRASE: expected at least 16 characters');
  const stateDir = need('WORKER_STATE_DIR', "a private directory for this institution's key and certificate");
  return { institution, stateDir, keyPassphrase };
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const need = needFrom(env);
  const { institution, stateDir, keyPassphrase } = loadIdentityConfig(env);
  const redisUrl = need(
    'WORKER_REDIS_URL',
    "rediss://worker-<institution>:<password>@host:port (this institution's queue user)",
  );
  if (!/^rediss?:\/\//.test(redisUrl))
    throw new ConfigError('WORKER_REDIS_URL: expected a redis:// or rediss:// URL');
  const redisCa = redisCaFile(env.WORKER_REDIS_CA_FILE, redisUrl);
  const backend = env.SCPRIVACY_BACKEND?.trim();
  if (backend && backend !== 'auto' && !BACKEND_PREFERENCES.includes(backend as BackendPreference)) {
    throw new ConfigError(
      `SCPRIVACY_BACKEND="${backend}": expected auto or one of ${BACKEND_PREFERENCES.join(', ')}`,
    );
  }
  const port = env.WORKER_HEALTH_PORT?.trim();
  if (port && !(Number.isInteger(Number(port)) && Number(port) >= 0 && Number(port) < 65536)) {
    throw new ConfigError(`WORKER_HEALTH_PORT="${port}": expected a port number`);
  }
  return {
    institution,
    redisUrl,
    ...(redisCa ? { redisCa } : {}),
    stateDir,
    siteDataDir: env.SITE_DATA_DIR?.trim() || undefined,
    backend: backend && backend !== 'auto' ? (backend as BackendPreference) : undefined,
    keyPassphrase,
    healthPort: port ? Number(port) : undefined,
    apiUrl: env.API_URL?.trim() || undefined,
    apiToken: env.API_TOKEN?.trim() || undefined,
    lockMs: lockMs(env.WORKER_LOCK_MS),
  };
}

function redisCaFile(value: string | undefined, redisUrl: string): WorkerConfig['redisCa'] {
  const file = value?.trim();
  if (!file) return undefined;
  if (!redisUrl.startsWith('rediss://')) {
    // The CA would be ignored and the queue password sent in clear text.
    throw new ConfigError(
      'WORKER_REDIS_CA_FILE is set but WORKER_REDIS_URL is a plain redis:// URL: use rediss:// for TLS',
    );
  }
  try {
    return { file, certificates: readCaBundle(file) };
  } catch (e) {
    throw new ConfigError(`WORKER_REDIS_CA_FILE is not a usable CA bundle: ${(e as Error).message}`);
  }
}

function lockMs(v: string | undefined): number | undefined {
  if (!v?.trim()) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1000)
    throw new ConfigError(`WORKER_LOCK_MS="${v}": expected milliseconds >= 1000`);
  return n;
}
