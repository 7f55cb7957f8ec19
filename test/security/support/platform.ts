import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MinioObjectStore } from '@fl/storage';
import { createTestDatabase, type TestDatabase } from '../../../scripts/local-stack/postgres';
import { startRedis, type RedisInstance } from '../../../scripts/local-stack/processes';
import { startS3Server, type S3Server } from '../../../scripts/local-stack/s3-server';
import { startApiProcess, type ApiProcess } from './api-process';

/**
 * The platform as the adversary meets it: the BUILT api (run `npm run build` first) as its own
 * process, against a fresh migrated Postgres database, a private redis-server (with an ACL file)
 * and an S3 server on loopback that checks signatures like MinIO. One per spec file.
 */

export interface GraphQLError {
  message: string;
  extensions?: { code?: string; [k: string]: unknown };
}
export interface GraphQLResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: GraphQLError[];
}

export interface Consortium {
  id: string;
  name: string;
  adminToken: string;
}
export interface Institution {
  id: string;
  name: string;
  token: string;
  queueUsername: string;
  queuePassword: string;
}

export interface PlatformOptions {
  label: string;
  /** Extra api environment (limits and so on). */
  env?: Record<string, string>;
  nodeEnv?: string;
  /** Last word on the api environment (e.g. point DATABASE_URL at a proxy that can fail). */
  rewireEnv?: (env: Record<string, string>) => Record<string, string>;
  /** Runs once the services are up, before the api starts (e.g. to put proxies in front). */
  beforeApi?: (platform: Platform) => Promise<void>;
}

export const MIB = 1024 * 1024;

export class Platform {
  readonly operatorToken = `op_${randomBytes(18).toString('base64url')}`;
  readonly masterKey = randomBytes(32).toString('base64url');
  readonly bucket = 'scprivacy';
  readonly suffix = randomBytes(3).toString('hex');
  db!: TestDatabase;
  redis!: RedisInstance;
  s3!: S3Server;
  api!: ApiProcess;
  dir!: string;
  /** Redis' default user: sees everything (what the api and aggregator use). */
  redisAdmin!: Redis;
  store!: MinioObjectStore;
  /** How many times the api was found dead or wedged and started again (a crash is a defect). */
  restarts = 0;

  constructor(readonly opts: PlatformOptions) {}

  get url(): string {
    return this.api.url;
  }

  apiEnv(): Record<string, string> {
    const env = {
      DATABASE_URL: this.db.url,
      REDIS_URL: this.redis.url,
      S3_ENDPOINT: this.s3.endPoint,
      S3_PORT: String(this.s3.port),
      S3_USE_SSL: 'false',
      S3_ACCESS_KEY: this.s3.accessKey,
      S3_SECRET_KEY: this.s3.secretKey,
      S3_BUCKET: this.bucket,
      SCPRIVACY_MASTER_KEY: this.masterKey,
      PLATFORM_ADMIN_TOKEN: this.operatorToken,
      UPLOAD_MAX_BYTES: String(64 * MIB),
      ANNOTATION_WORKER: 'on',
      ...this.opts.env,
    };
    return this.opts.rewireEnv ? this.opts.rewireEnv(env) : env;
  }

  async start(): Promise<this> {
    this.dir = await mkdtemp(join(tmpdir(), `scp-security-${this.opts.label}-`));
    this.db = await createTestDatabase(`sec_${this.opts.label}`);
    this.redis = await startRedis(join(this.dir, 'redis'));
    this.s3 = await startS3Server({ verifySignatures: true });
    this.redisAdmin = new Redis(this.redis.url, { maxRetriesPerRequest: 1 });
    this.redisAdmin.on('error', () => undefined);
    this.store = new MinioObjectStore({ ...this.s3, bucket: this.bucket });
    await this.opts.beforeApi?.(this);
    await this.startApi();
    return this;
  }

  async startApi(): Promise<void> {
    this.api = await startApiProcess(this.apiEnv(), join(this.dir, 'logs'), this.opts.nodeEnv);
  }

  /** Answers /health/live within `ms`? */
  async alive(ms = 2000): Promise<boolean> {
    if (!this.api.running()) return false;
    try {
      const res = await fetch(`${this.url}/health/live`, { signal: AbortSignal.timeout(ms) });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /**
   * After a case that crashed or wedged the api (a defect the case reports), start a fresh one
   * so the next case tests something. Returns whether a restart was needed.
   */
  async ensureAlive(): Promise<boolean> {
    if (await this.alive(3000)) return false;
    await this.api.kill();
    this.restarts++;
    await this.startApi();
    return true;
  }

  async stop(): Promise<void> {
    await this.api?.stop();
    this.redisAdmin?.disconnect();
    await this.redis?.stop();
    await this.s3?.stop();
    await this.db?.drop();
    if (this.dir && !process.env.KEEP_SECURITY_DIR) await rm(this.dir, { recursive: true, force: true });
  }

  // ----------------------------------------------------------------------------- calls

  async gql<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
  ): Promise<GraphQLResult<T>> {
    const res = await this.gqlRaw(JSON.stringify({ query, variables }), token);
    return (await res.json()) as GraphQLResult<T>;
  }

  gqlRaw(body: string | Uint8Array, token?: string, contentType = 'application/json'): Promise<Response> {
    return fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        // Apollo's CSRF prevention wants this on anything but JSON.
        'apollo-require-preflight': 'true',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
    });
  }

  async gqlOk<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
  ): Promise<T> {
    const result = await this.gql<T>(query, variables, token);
    if (result.errors?.length || !result.data)
      throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    return result.data;
  }

  rest(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
    const { token, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    return fetch(`${this.url}${path}`, { ...rest, headers });
  }

  async createConsortium(name: string): Promise<Consortium> {
    const full = `${name} ${this.suffix}`;
    const data = await this.gqlOk<{ createConsortium: { consortium: { id: string }; adminToken: string } }>(
      'mutation($name: String!) { createConsortium(name: $name) { consortium { id } adminToken } }',
      { name: full },
      this.operatorToken,
    );
    return {
      id: data.createConsortium.consortium.id,
      name: full,
      adminToken: data.createConsortium.adminToken,
    };
  }

  async registerInstitution(consortium: Consortium, name: string): Promise<Institution> {
    const data = await this.gqlOk<{
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
      { c: consortium.id, n: `${name}-${this.suffix}`, d: `${name} hospital` },
      consortium.adminToken,
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
}

/** multipart/form-data with a file (bytes or a Blob, e.g. fs.openAsBlob of a big file) and fields. */
export function formWith(
  fileName: string,
  data: Uint8Array | string | Blob,
  fields: Record<string, string> = {},
): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  const blob =
    data instanceof Blob ? data : new Blob([typeof data === 'string' ? data : new Uint8Array(data)]);
  form.set('file', blob, fileName);
  return form;
}

/** The `message` of a REST error answer ('' when the body is not JSON). */
export async function messageOf(res: Response): Promise<string> {
  const text = await res.text();
  try {
    return String((JSON.parse(text) as { message?: unknown }).message ?? '');
  } catch {
    return '';
  }
}
