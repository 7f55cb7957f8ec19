import { z } from 'zod';
import {
  ConfigError,
  envWholeNumber,
  parseEnv,
  serviceConnections,
  serviceEnvFields,
  type ServiceConnections,
} from '@fl/platform';

export { ConfigError };

/** The aggregator's settings, from the environment; a bad one stops it with a message naming it. */
export interface AggregatorConfig extends ServiceConnections {
  healthPort?: number;
  /** Lifetime of the presigned URLs of a round's objects (a job must start within it). */
  presignTtlSeconds: number;
}

const schema = z.object({
  ...serviceEnvFields,
  AGGREGATOR_HEALTH_PORT: envWholeNumber('a port number between 0 and 65535', 0, 65535).optional(),
  PRESIGN_TTL_SECONDS: envWholeNumber('seconds between 60 and 604800', 60, 604_800).default('3600'),
});

export function loadAggregatorConfig(
  env: Record<string, string | undefined> = process.env,
): AggregatorConfig {
  const e = parseEnv(schema, env);
  return {
    ...serviceConnections(e),
    healthPort: e.AGGREGATOR_HEALTH_PORT,
    presignTtlSeconds: e.PRESIGN_TTL_SECONDS,
  };
}
