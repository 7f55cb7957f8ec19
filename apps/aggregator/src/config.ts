/** The aggregator's settings, from the environment; a bad one stops it with a message naming it. */
export interface AggregatorConfig {
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
  healthPort?: number;
  /** Lifetime of the presigned URLs in jobs (a job must start within it). */
  presignTtlSeconds: number;
}

export class ConfigError extends Error {}

export function loadAggregatorConfig(env: NodeJS.ProcessEnv = process.env): AggregatorConfig {
  const need = (name: string, what: string): string => {
    const v = env[name]?.trim();
    if (!v) throw new ConfigError(`${name} is not set: expected ${what}`);
    return v;
  };
  const port = (name: string, fallback?: number): number | undefined => {
    const v = env[name]?.trim();
    if (!v) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new ConfigError(`${name}="${v}": expected a port number`);
    return n;
  };
  const databaseUrl = need('DATABASE_URL', 'postgresql://user@host:5432/database');
  if (!/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new ConfigError('DATABASE_URL: expected a postgresql:// URL');
  const redisUrl = need('REDIS_URL', 'redis://host:6379');
  if (!/^rediss?:\/\//.test(redisUrl)) throw new ConfigError('REDIS_URL: expected a redis:// URL');
  const useSSL = (env.S3_USE_SSL ?? 'false').trim().toLowerCase();
  if (!['true', 'false', '1', '0'].includes(useSSL))
    throw new ConfigError('S3_USE_SSL: expected true or false');
  const ttl = Number(env.PRESIGN_TTL_SECONDS ?? 3600);
  if (!(ttl >= 60 && ttl <= 7 * 24 * 3600)) throw new ConfigError('PRESIGN_TTL_SECONDS: expected 60..604800');
  return {
    databaseUrl,
    redisUrl,
    s3: {
      endPoint: need('S3_ENDPOINT', 'the S3/MinIO host name'),
      port: port('S3_PORT', 9000)!,
      useSSL: useSSL === 'true' || useSSL === '1',
      accessKey: need('S3_ACCESS_KEY', 'the S3 access key'),
      secretKey: need('S3_SECRET_KEY', 'the S3 secret key'),
      bucket: need('S3_BUCKET', 'the bucket of this consortium'),
    },
    healthPort: port('AGGREGATOR_HEALTH_PORT'),
    presignTtlSeconds: ttl,
  };
}
