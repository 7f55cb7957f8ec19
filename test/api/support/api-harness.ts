import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { PrismaClient } from '@fl/persistence';
import { revokeInstitutionQueueUser } from '@fl/queue';
import { MinioObjectStore } from '@fl/storage';
import { createApiApp } from '../../../apps/api/src/app';
import { parseApiConfig, type ApiConfig } from '../../../apps/api/src/config/api-config';
import { createTestDatabase, type TestDatabase } from '../../../scripts/local-stack/postgres';
import { startS3Server, type S3Server } from '../../../scripts/local-stack/s3-server';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';

export interface GraphQLResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * The api booted in-process on a free loopback port against real services: a fresh migrated
 * Postgres database, Redis (queues under a unique prefix) and an S3 server on loopback.
 */
export interface ApiHarness {
  url: string;
  app: INestApplication;
  config: ApiConfig;
  db: PrismaClient;
  redis: Redis;
  store: MinioObjectStore;
  queuePrefix: string;
  /** A short random suffix for names that are platform-wide (institutions, consortia). */
  suffix: string;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResult<T>>;
  /** gql() that fails the test on any error and returns data. */
  gqlOk<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<T>;
  rest(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

export async function startApi(label: string, env: Record<string, string> = {}): Promise<ApiHarness> {
  const suffix = randomBytes(3).toString('hex');
  const database: TestDatabase = await createTestDatabase(`api_${label}`);
  let s3: S3Server | undefined;
  let app: INestApplication | undefined;
  try {
    s3 = await startS3Server();
    const config = parseApiConfig({
      DATABASE_URL: database.url,
      REDIS_URL,
      S3_ENDPOINT: s3.endPoint,
      S3_PORT: String(s3.port),
      S3_USE_SSL: 'false',
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_BUCKET: `api-${label}-${suffix}`.toLowerCase().replace(/[^a-z0-9-]/g, '-'),
      SCPRIVACY_MASTER_KEY: randomBytes(32).toString('hex'),
      PLATFORM_ADMIN_TOKEN: OPERATOR_TOKEN,
      API_PORT: '0',
      ...env,
    });
    const queuePrefix = `scp-test-${label}-${suffix}`;
    app = await createApiApp(config, { queuePrefix, logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    const redis = new Redis(REDIS_URL);
    const store = new MinioObjectStore(config.s3);

    const gql = async <T>(query: string, variables: Record<string, unknown> = {}, token?: string) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GraphQLResult<T>;
    };
    const harness: ApiHarness = {
      url,
      app,
      config,
      db: database.prisma,
      redis,
      store,
      queuePrefix,
      suffix,
      gql,
      async gqlOk<T>(query: string, variables: Record<string, unknown> = {}, token?: string) {
        const result = await gql<T>(query, variables, token);
        if (result.errors?.length || !result.data) {
          throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
        }
        return result.data;
      },
      rest(path, init = {}) {
        const { token, ...rest } = init;
        const headers = new Headers(rest.headers);
        if (token) headers.set('authorization', `Bearer ${token}`);
        return fetch(`${url}${path}`, { ...rest, headers });
      },
      async close() {
        const names = await database.prisma.institution.findMany({ select: { name: true } });
        await app?.close();
        for (const { name } of names) await revokeInstitutionQueueUser(redis, name).catch(() => undefined);
        await deleteKeys(redis, `${queuePrefix}:*`);
        await redis.quit();
        await s3?.stop();
        await database.drop();
      },
    };
    return harness;
  } catch (e) {
    await app?.close().catch(() => undefined);
    await s3?.stop();
    await database.drop();
    throw e;
  }
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** A consortium with an admin token, made through the API as the operator would. */
export async function createConsortium(
  api: ApiHarness,
  name: string,
): Promise<{ id: string; adminToken: string }> {
  const data = await api.gqlOk<{ createConsortium: { consortium: { id: string }; adminToken: string } }>(
    'mutation($name: String!) { createConsortium(name: $name) { consortium { id } adminToken } }',
    { name: `${name} ${api.suffix}` },
    OPERATOR_TOKEN,
  );
  return { id: data.createConsortium.consortium.id, adminToken: data.createConsortium.adminToken };
}

export interface RegisteredInstitution {
  id: string;
  name: string;
  token: string;
  queueUsername: string;
  queuePassword: string;
}

export async function registerInstitution(
  api: ApiHarness,
  consortiumId: string,
  adminToken: string,
  name: string,
): Promise<RegisteredInstitution> {
  const data = await api.gqlOk<{
    registerInstitution: {
      institution: { id: string; name: string };
      token: string;
      queueUsername: string;
      queuePassword: string;
    };
  }>(
    `mutation($c: ID!, $n: String!, $d: String!) {
      registerInstitution(consortiumId: $c, name: $n, displayName: $d) {
        institution { id name } token queueUsername queuePassword
      }
    }`,
    { c: consortiumId, n: `${name}-${api.suffix}`, d: `${name} hospital` },
    adminToken,
  );
  const r = data.registerInstitution;
  return {
    id: r.institution.id,
    name: r.institution.name,
    token: r.token,
    queueUsername: r.queueUsername,
    queuePassword: r.queuePassword,
  };
}

/** multipart/form-data with a file (from bytes) and text fields. */
export function formWith(
  fileName: string,
  data: Uint8Array | string,
  fields: Record<string, string> = {},
): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('file', new Blob([typeof data === 'string' ? data : new Uint8Array(data)]), fileName);
  return form;
}

/** The `message` of a REST error answer. */
export async function messageOf(res: Response): Promise<string> {
  return ((await res.json()) as { message: string }).message;
}
