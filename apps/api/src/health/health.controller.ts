import { Controller, Get, HttpCode, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Redis } from 'ioredis';
import type { ObjectStore } from '@fl/storage';
import { Public } from '../auth/public.decorator';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import { OBJECT_STORE, PRISMA, REDIS, type Db } from '../infra/tokens';

const CHECK_TIMEOUT_MS = 3000;

/** Resolves to undefined when `check` succeeds in time, else to why not. */
async function probe(check: () => Promise<unknown>): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check().then(() => undefined), timeout]);
  } catch (e) {
    return (e as Error).message || String(e);
  } finally {
    clearTimeout(timer);
  }
}

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(PRISMA) private readonly db: Db,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'The process is up' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HttpCode(200)
  @ApiOperation({ summary: 'Postgres, Redis and the object-store bucket are reachable' })
  @ApiOkResponse({
    schema: { example: { status: 'ok', checks: { postgres: 'ok', redis: 'ok', objectStore: 'ok' } } },
  })
  @ApiServiceUnavailableResponse({ description: 'names what is down' })
  async ready(): Promise<{ status: 'ok'; checks: Record<string, string> }> {
    const [postgres, redis, objectStore] = await Promise.all([
      probe(() => this.db.$queryRaw`SELECT 1`),
      probe(() => this.redis.ping()),
      probe(() => this.store.list('health/')),
    ]);
    const problems = [
      postgres && `Postgres is unreachable (${postgres})`,
      redis && `Redis is unreachable (${redis})`,
      objectStore && `the object store bucket "${this.config.s3.bucket}" is unreachable (${objectStore})`,
    ].filter((p): p is string => !!p);
    if (problems.length > 0) {
      throw new ServiceUnavailableException(`Not ready: ${problems.join('; ')}.`);
    }
    return { status: 'ok', checks: { postgres: 'ok', redis: 'ok', objectStore: 'ok' } };
  }
}
