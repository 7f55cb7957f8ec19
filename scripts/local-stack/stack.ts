import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from './postgres';
import { startRedis, startService, type RedisInstance, type Service } from './processes';
import { removeStackQueueState } from './redis-cleanup';
import { startS3Server, type S3Server } from './s3-server';
import { Supervisor } from './supervisor';

/**
 * The whole platform on this machine, as separate processes from dist/ (built by
 * `npm run build`): a fresh Postgres database, a private redis-server (with an ACL file), an
 * S3 server on loopback that checks signatures like MinIO, the api, the aggregator and one
 * trainer worker per institution. Used by the end-to-end tests and by `npm run stack`.
 */

const run = promisify(execFile);

/**
 * The example consortium: three PBMC institutions and one query, cut from
 * ../shared/datasets/pbmc (examples/pbmc-mini, made by scripts/make-examples.py).
 */
export const EXAMPLE_CONSORTIUM = {
  institutions: [
    { name: 'pbmc3k-10x-v1', datasets: ['examples/pbmc-mini/train/pbmc3k_10x_v1.csv.gz'] },
    { name: 'pbmc-10x-3p-v2', datasets: ['examples/pbmc-mini/train/pbmc_10x_3p_v2.tsv.gz'] },
    { name: 'pbmc-10x-5p-vdj', datasets: ['examples/pbmc-mini/train/pbmc_10x_5p_vdj.csv.gz'] },
  ],
  query: 'examples/pbmc-mini/test/pbmc_10x_3p_v3.csv.gz',
};

export interface StackInstitution {
  name: string;
  /** Reference files uploaded through the REST API. */
  datasets: string[];
}

export interface StackOptions {
  dir: string;
  consortium: string;
  institutions: StackInstitution[];
  /** Worker job lock: a killed worker's job is retried after about this long. */
  workerLockMs?: number;
  backend?: string;
  apiPort?: number;
  /** Use this Redis (its default user provisions the queue users) instead of a private one. */
  redisUrl?: string;
  log?: (message: string) => void;
  /**
   * Restart the api, the aggregator and the workers when they exit unexpectedly, saying so
   * (`npm run stack`); tests that kill services on purpose leave it off.
   */
  supervise?: boolean;
  /**
   * An address of this machine where the api, Redis (besides loopback) and the S3 server listen,
   * for workers that do not share the host's loopback (bench:sites runs each in its own network
   * namespace); the workers' API_URL, Redis URL and the presigned URLs name it.
   */
  bindHost?: string;
  /** A command each institution's worker runs under, e.g. ['ip', 'netns', 'exec', '<namespace>']. */
  workerLauncher?: (institution: string) => string[];
}

export interface InstitutionHandle {
  name: string;
  id: string;
  token: string;
  queueUsername: string;
  queuePassword: string;
  stateDir: string;
  datasetIds: string[];
  worker?: Service;
}

export class Stack {
  api!: Service;
  aggregator!: Service;
  apiUrl!: string;
  operatorToken = `op_${randomBytes(18).toString('base64url')}`;
  masterKey = randomBytes(32).toString('base64url');
  adminToken!: string;
  consortiumId!: string;
  readonly institutions = new Map<string, InstitutionHandle>();
  db!: TestDatabase;
  redis!: RedisInstance;
  s3!: S3Server;
  readonly bucket = 'scprivacy';
  private readonly supervisors: Supervisor[] = [];

  constructor(readonly opts: StackOptions) {}

  private log(m: string) {
    this.opts.log?.(m);
  }

  get logDir(): string {
    return join(this.opts.dir, 'logs');
  }

  serviceEnv(): Record<string, string> {
    return {
      DATABASE_URL: this.db.url,
      REDIS_URL: this.redis.url,
      S3_ENDPOINT: this.s3.endPoint,
      S3_PORT: String(this.s3.port),
      S3_USE_SSL: 'false',
      S3_ACCESS_KEY: this.s3.accessKey,
      S3_SECRET_KEY: this.s3.secretKey,
      S3_BUCKET: this.bucket,
    };
  }

  async start(): Promise<this> {
    this.log('starting Postgres database, Redis and the S3 server');
    this.db = await createTestDatabase('stack');
    this.redis = this.opts.redisUrl
      ? externalRedis(this.opts.redisUrl)
      : await startRedis(join(this.opts.dir, 'redis'), {
          bind: this.opts.bindHost ? [this.opts.bindHost] : [],
        });
    if (this.opts.redisUrl) {
      // What a stack killed without a chance to clean up (SIGKILL) left in a Redis it was given.
      const left = await removeStackQueueState(
        this.opts.redisUrl,
        this.opts.institutions.map((i) => i.name),
      );
      if (left.usersRemoved + left.keysRemoved > 0) {
        this.log(
          `removed what an earlier stack left in ${this.redis.url}: ${left.usersRemoved} queue user(s), ${left.keysRemoved} queue key(s)`,
        );
      }
    }
    this.s3 = await startS3Server({ verifySignatures: true, host: this.opts.bindHost });
    await this.startApi();
    await this.createConsortium();
    for (const inst of this.opts.institutions) await this.registerInstitution(inst);
    await this.startAggregator();
    for (const inst of this.opts.institutions) await this.startWorker(inst.name);
    return this;
  }

  /**
   * Starts a service and waits until it is ready; under `supervise`, a Supervisor restarts it
   * and `onStarted` sees every new process.
   */
  private async launch(
    name: string,
    start: () => Service,
    ready: (s: Service) => Promise<void>,
    onStarted: (s: Service) => void,
  ): Promise<Service> {
    if (!this.opts.supervise) {
      const service = start();
      await ready(service);
      onStarted(service);
      return service;
    }
    const supervisor = new Supervisor({ name, start, ready, onStarted, log: (m) => this.log(m) });
    this.supervisors.push(supervisor);
    return supervisor.start();
  }

  async startApi(): Promise<void> {
    // A restarted api keeps the port it first had, so its URL (printed, given to the workers) holds.
    let port = this.opts.apiPort ?? 0;
    const start = () =>
      startService(
        'api',
        'dist/api/main.js',
        {
          ...this.serviceEnv(),
          SCPRIVACY_MASTER_KEY: this.masterKey,
          PLATFORM_ADMIN_TOKEN: this.operatorToken,
          API_PORT: String(port),
          API_HOST: this.opts.bindHost ?? '127.0.0.1',
          UPLOAD_MAX_BYTES: String(64 * 1024 * 1024),
          ANNOTATION_WORKER: 'on',
        },
        this.logDir,
      );
    await this.launch(
      'api',
      start,
      (s) => s.waitFor(/listening on http:\/\/[^\s]+/, 90_000),
      (s) => {
        this.api = s;
        const url = /listening on (http:\/\/[^\s]+)/.exec(s.output())![1].replace('[::1]', '127.0.0.1');
        this.apiUrl = url.replace(/\/$/, '');
        port = Number(new URL(this.apiUrl).port);
      },
    );
    this.log(`api at ${this.apiUrl}`);
  }

  async startAggregator(): Promise<void> {
    await this.launch(
      'aggregator',
      () => startService('aggregator', 'dist/aggregator/main.js', this.serviceEnv(), this.logDir),
      (s) => s.waitFor(/aggregator ready/, 60_000),
      (s) => (this.aggregator = s),
    );
  }

  workerEnv(name: string): Record<string, string> {
    const inst = this.institutions.get(name)!;
    return {
      INSTITUTION: name,
      WORKER_REDIS_URL: `redis://${inst.queueUsername}:${inst.queuePassword}@${this.opts.bindHost ?? '127.0.0.1'}:${this.redis.port}`,
      WORKER_STATE_DIR: inst.stateDir,
      WORKER_KEY_PASSPHRASE: `passphrase-of-${name}-0123456789`,
      API_URL: this.apiUrl,
      API_TOKEN: inst.token,
      SCPRIVACY_BACKEND: this.opts.backend ?? 'wasm',
      ...(this.opts.workerLockMs ? { WORKER_LOCK_MS: String(this.opts.workerLockMs) } : {}),
    };
  }

  async startWorker(name: string): Promise<Service> {
    const inst = this.institutions.get(name)!;
    return this.launch(
      `worker-${name}`,
      () =>
        startService(
          `worker-${name}`,
          'dist/trainer-worker/main.js',
          this.workerEnv(name),
          this.logDir,
          [],
          this.opts.workerLauncher?.(name),
        ),
      (s) => s.waitFor(/waiting for jobs/, 60_000),
      (s) => (inst.worker = s),
    );
  }

  // ------------------------------------------------------------------------- API calls

  async gql<T = Record<string, unknown>>(query: string, variables: object, token: string): Promise<T> {
    const res = await fetch(`${this.apiUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => e.message).join('; ')}`);
    return body.data!;
  }

  async upload(
    path: string,
    file: string,
    token: string,
    fields: Record<string, string> = {},
  ): Promise<Response> {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([await readFile(file)]), basename(file));
    return fetch(`${this.apiUrl}${path}`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${token}` },
    });
  }

  private async createConsortium(): Promise<void> {
    const data = await this.gql<{ createConsortium: { consortium: { id: string }; adminToken: string } }>(
      'mutation($name: String!) { createConsortium(name: $name) { consortium { id } adminToken } }',
      { name: this.opts.consortium },
      this.operatorToken,
    );
    this.consortiumId = data.createConsortium.consortium.id;
    this.adminToken = data.createConsortium.adminToken;
  }

  private async registerInstitution(spec: StackInstitution): Promise<void> {
    const data = await this.gql<{
      registerInstitution: {
        institution: { id: string };
        token: string;
        queueUsername: string;
        queuePassword: string;
      };
    }>(
      `mutation($c: ID!, $n: String!, $d: String!) {
        registerInstitution(consortiumId: $c, name: $n, displayName: $d) {
          institution { id } token queueUsername queuePassword
        }
      }`,
      { c: this.consortiumId, n: spec.name, d: spec.name },
      this.adminToken,
    );
    const r = data.registerInstitution;
    const inst: InstitutionHandle = {
      name: spec.name,
      id: r.institution.id,
      token: r.token,
      queueUsername: r.queueUsername,
      queuePassword: r.queuePassword,
      stateDir: resolve(this.opts.dir, 'workers', spec.name),
      datasetIds: [],
    };
    this.institutions.set(spec.name, inst);
    // The worker makes its own key pair and CSR; the consortium admin certifies the CSR.
    const { stdout } = await run(process.execPath, ['dist/trainer-worker/main.js', '--init'], {
      env: { ...process.env, ...this.workerEnv(spec.name) },
    });
    const csrPem = await readFile(stdout.trim(), 'utf8');
    await this.gql(
      'mutation($id: ID!, $csr: String!) { certifyInstitution(institutionId: $id, csrPem: $csr) { id status } }',
      { id: inst.id, csr: csrPem },
      this.adminToken,
    );
    for (const file of spec.datasets) {
      const res = await this.upload(`/api/v1/institutions/${spec.name}/datasets`, file, inst.token);
      if (res.status !== 201 && res.status !== 200) {
        throw new Error(`upload of ${file} for ${spec.name}: HTTP ${res.status} ${await res.text()}`);
      }
      inst.datasetIds.push(((await res.json()) as { id: string }).id);
    }
    this.log(`registered ${spec.name}: certified, ${spec.datasets.length} dataset(s) uploaded`);
  }

  async stop(): Promise<void> {
    // Supervision first, or stopping a service would look like a crash to restart.
    await Promise.all(this.supervisors.map((s) => s.stop()));
    const services = [
      ...[...this.institutions.values()].map((i) => i.worker),
      this.aggregator,
      this.api,
    ].filter((s): s is Service => s !== undefined);
    await Promise.all(services.map((s) => s.stop()));
    if (this.opts.redisUrl && this.institutions.size > 0) {
      // A Redis this stack does not own keeps nothing of it: queue users and queue keys go.
      const removed = await removeStackQueueState(this.opts.redisUrl, [...this.institutions.keys()]);
      this.log(
        `removed ${removed.usersRemoved} queue user(s) and ${removed.keysRemoved} queue key(s) from ${this.redis.url}`,
      );
    }
    await this.redis?.stop();
    await this.s3?.stop();
    await this.db?.drop();
  }
}

/** A Redis this stack does not own (the machine's): it is neither stopped nor restarted. */
function externalRedis(url: string): RedisInstance {
  const port = Number(new URL(url).port || 6379);
  return {
    port,
    url,
    stop: async () => {},
    restart: async () => {
      throw new Error('this stack uses an external Redis; it cannot restart it');
    },
  };
}
