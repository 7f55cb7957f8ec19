import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { institutionQueueName, QUEUE_PREFIX } from '@fl/platform';
import { redisConnection } from '@fl/queue';
import {
  createLocalCa,
  writeTlsFiles,
  type LocalCa,
  type TlsFiles,
} from '../../scripts/local-stack/local-ca';
import { startService, type Service } from '../../scripts/local-stack/processes';
import { startTlsRedis, type TlsRedisInstance } from '../../scripts/local-stack/redis-tls';
import { Stack, type InstitutionHandle } from '../../scripts/local-stack/stack';
import { startTcpProxy, type TcpProxy } from '../../scripts/local-stack/tcp-proxy';
import { EXAMPLE, rounds, startFederation, tempDir, waitForFederation } from './e2e-helpers';

/**
 * An institution's site, outside the consortium's cluster, end to end with the built services
 * (dist/): the consortium's Redis has a TLS port (a certificate from the consortium's private
 * CA, made here) beside its in-cluster plain port; the API and the object store are reached
 * through HTTPS front doors with certificates of the same CA (TLS-terminating proxies on other
 * loopback ports, as a load balancer or an ingress would be). The site's worker connects with
 * rediss:// as its own ACL user (WORKER_REDIS_CA_FILE), fetches its certificate over HTTPS
 * (API_URL, NODE_EXTRA_CA_CERTS) and moves the round's objects through presigned URLs signed for
 * the store's public address (S3_PUBLIC_ENDPOINT). The aggregator too reaches Redis over TLS
 * (REDIS_CA_FILE). A secure federation of the site and an in-cluster institution must complete;
 * misconfigured sites must stop at once, saying why.
 */

const TRAINING = { rounds: 3, seed: 5, hiddenSize: 32, embeddingSize: 8, learningRate: 0.0005 };
const INSTITUTIONS = EXAMPLE.institutions.slice(0, 2);
const [IN_CLUSTER, SITE] = INSTITUTIONS.map((i) => i.name);

describe('an institution site over TLS', () => {
  let dir: string;
  let ca: LocalCa;
  let tls: TlsFiles;
  let redis: TlsRedisInstance;
  let stack: Stack;
  let apiFrontDoor: TcpProxy;
  let s3FrontDoor: TcpProxy;
  let admin: Redis;
  const started: Service[] = [];

  beforeAll(async () => {
    dir = await tempDir('site-tls');
    ca = createLocalCa('scprivacy e2e consortium CA');
    tls = await writeTlsFiles(join(dir, 'tls'), ca, ['localhost', '127.0.0.1']);
    redis = await startTlsRedis(join(dir, 'redis'), tls, { plainPort: true });
    // The api provisions the institutions' ACL users through the plain, in-cluster port.
    stack = await new Stack({
      dir,
      consortium: 'site tls consortium',
      institutions: INSTITUTIONS,
      redisUrl: redis.url,
    }).start();
    const certificate = ca.issueServer(['localhost']);
    apiFrontDoor = await startTcpProxy({ targetPort: Number(new URL(stack.apiUrl).port), tls: certificate });
    s3FrontDoor = await startTcpProxy({ targetPort: stack.s3.port, tls: certificate });
    admin = redisConnection(redis.url!, { connectionName: 'site-tls-e2e' });
  }, 300_000);

  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    admin?.disconnect();
    await stack?.stop();
    await apiFrontDoor?.stop();
    await s3FrontDoor?.stop();
    await redis?.stop();
    if (!process.env.KEEP_E2E_DIR) await rm(dir, { recursive: true, force: true });
  });

  const site = (): InstitutionHandle => stack.institutions.get(SITE)!;
  /** The site worker's environment as the site chart renders it; `overrides` break it. */
  const siteEnv = (overrides: Record<string, string> = {}) => {
    const inst = site();
    return {
      ...stack.workerEnv(SITE),
      WORKER_REDIS_URL: `rediss://${inst.queueUsername}:${inst.queuePassword}@localhost:${redis.tlsPort}`,
      WORKER_REDIS_CA_FILE: tls.caFile,
      API_URL: `https://localhost:${apiFrontDoor.port}`,
      NODE_EXTRA_CA_CERTS: tls.caFile,
      ...overrides,
    };
  };
  const launch = (name: string, env: Record<string, string>) => {
    const service = startService(name, 'dist/trainer-worker/main.js', env, stack.logDir);
    started.push(service);
    return service;
  };
  const exitOf = (s: Service) =>
    new Promise<number | null>((resolve) => {
      if (s.child.exitCode !== null) resolve(s.child.exitCode);
      else s.child.once('exit', (code) => resolve(code));
    });

  it('without WORKER_REDIS_CA_FILE the site worker stops at once with exit code 4, naming the host and the reason', async () => {
    const t0 = Date.now();
    // Node's default trust store would include NODE_EXTRA_CA_CERTS (the same CA, here): unset both.
    const worker = launch('site-no-ca', siteEnv({ WORKER_REDIS_CA_FILE: '', NODE_EXTRA_CA_CERTS: '' }));
    expect(await exitOf(worker)).toBe(4);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(worker.output()).toMatch(
      new RegExp(
        `WORKER_REDIS_URL: TLS to Redis at localhost:${redis.tlsPort} failed: self-signed certificate in certificate chain: ` +
          "set WORKER_REDIS_CA_FILE to the PEM file of the consortium's Redis CA. Stopping.",
      ),
    );
    expect(worker.output()).not.toContain(site().queuePassword);
    expect(worker.output()).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('with a wrong ACL password over TLS it stops with exit code 3', async () => {
    const inst = site();
    const worker = launch(
      'site-wrong-password',
      siteEnv({
        WORKER_REDIS_URL: `rediss://${inst.queueUsername}:not-the-password-0123@localhost:${redis.tlsPort}`,
      }),
    );
    expect(await exitOf(worker)).toBe(3);
    expect(worker.output()).toMatch(new RegExp(`Redis refused ${SITE}'s queue credentials`));
  }, 60_000);

  it('a plain redis:// URL to the TLS port is never served: the worker says to use rediss://', async () => {
    const inst = site();
    // The in-cluster worker of the site's institution is stopped: no one consumes its queue.
    await stack.institutions.get(SITE)!.worker!.stop();
    const worker = launch(
      'site-plain-to-tls',
      siteEnv({
        WORKER_REDIS_URL: `redis://${inst.queueUsername}:${inst.queuePassword}@127.0.0.1:${redis.tlsPort}`,
        WORKER_REDIS_CA_FILE: '',
      }),
    );
    await worker.waitFor(
      new RegExp(
        `WORKER_REDIS_URL: Redis at 127.0.0.1:${redis.tlsPort} closed the connection at once: ` +
          'if that is its TLS port, the URL must start with rediss://',
      ),
      30_000,
    );
    const queue = new Queue(institutionQueueName(SITE), { connection: admin, prefix: QUEUE_PREFIX });
    try {
      expect(await queue.getWorkersCount()).toBe(0);
    } finally {
      await queue.close();
    }
    // Redis never took the connection for a client: none runs as the site's user.
    expect(String(await admin.call('CLIENT', 'LIST'))).not.toContain(` user=${inst.queueUsername} `);
    await worker.kill();
  }, 60_000);

  it('fetching its certificate over HTTPS needs NODE_EXTRA_CA_CERTS, and says so', async () => {
    // The site as onboarding leaves it: key and CSR made, certified by the consortium, the
    // certificate not yet installed (the in-cluster worker had fetched it: forget it).
    const { stateDir } = site();
    await rm(join(stateDir, 'institution.cert.pem'), { force: true });
    await rm(join(stateDir, 'consortium-ca.pem'), { force: true });
    const worker = launch('site-no-extra-ca', siteEnv({ NODE_EXTRA_CA_CERTS: '' }));
    expect(await exitOf(worker)).toBe(1);
    expect(worker.output()).toMatch(
      new RegExp(
        `cannot fetch the certificate from the API at https://localhost:${apiFrontDoor.port} \\(API_URL\\): ` +
          '.*certificate.*: set NODE_EXTRA_CA_CERTS to the PEM file of the CA',
      ),
    );
    expect(worker.output()).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('an aggregator given rediss:// without REDIS_CA_FILE stops, naming the host and the reason', async () => {
    const aggregator = startService(
      'aggregator-no-ca',
      'dist/aggregator/main.js',
      { ...stack.serviceEnv(), REDIS_URL: redis.tlsUrl, NODE_EXTRA_CA_CERTS: '' },
      stack.logDir,
    );
    started.push(aggregator);
    expect(await exitOf(aggregator)).toBe(1);
    expect(aggregator.output()).toMatch(
      new RegExp(
        `aggregator: REDIS_URL: TLS to Redis at localhost:${redis.tlsPort} failed: self-signed certificate in certificate chain: ` +
          "set REDIS_CA_FILE to the PEM file of the consortium's Redis CA",
      ),
    );
  }, 60_000);

  it('a secure federation with the site over TLS (Redis, API, object store) completes', async () => {
    // The aggregator over TLS too, signing the workers' URLs for the store's public address.
    await stack.aggregator.stop();
    const aggregator = startService(
      'aggregator-tls',
      'dist/aggregator/main.js',
      {
        ...stack.serviceEnv(),
        REDIS_URL: redis.tlsUrl,
        REDIS_CA_FILE: tls.caFile,
        S3_PUBLIC_ENDPOINT: `https://localhost:${s3FrontDoor.port}`,
      },
      stack.logDir,
    );
    started.push(aggregator);
    await aggregator.waitFor(/aggregator ready/, 60_000);
    expect(aggregator.output()).toContain(
      `presigned URLs for the workers are signed for https://localhost:${s3FrontDoor.port} (S3_PUBLIC_ENDPOINT)`,
    );

    // The in-cluster institution stays on the plain port, but its URLs now name the public
    // address: it trusts the consortium's CA for HTTPS like the site does.
    await stack.institutions.get(IN_CLUSTER)!.worker!.stop();
    const inCluster = launch('in-cluster', {
      ...stack.workerEnv(IN_CLUSTER),
      NODE_EXTRA_CA_CERTS: tls.caFile,
    });
    const siteWorker = launch('site', siteEnv());
    await inCluster.waitFor(/waiting for jobs/, 60_000);
    await siteWorker.waitFor(new RegExp(`connected to Redis at localhost:${redis.tlsPort} over TLS`), 60_000);
    // The certificate came from the API, through its HTTPS front door.
    expect(siteWorker.output()).toMatch(new RegExp(`${SITE}: backend \\w+; certified identity loaded`));
    expect(apiFrontDoor.connections()).toBeGreaterThan(0);

    const id = await startFederation(stack, {
      name: 'site-tls',
      ...TRAINING,
      secureAggregation: true,
      roundDeadlineSeconds: 120,
    });
    await waitForFederation(stack, id, (f) => f.status === 'completed', 300_000);
    const history = await rounds(stack, id);
    expect(history.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    expect(
      history.every(
        (r) => [...r.survivors].sort().join() === [...INSTITUTIONS.map((i) => i.name)].sort().join(),
      ),
    ).toBe(true);

    // The site's connections all came in through the TLS port, as its own ACL user.
    const clients = String(await admin.call('CLIENT', 'LIST'))
      .trim()
      .split('\n')
      .filter((line) => line.includes(` user=${site().queueUsername} `));
    expect(clients.length).toBeGreaterThan(0);
    expect(clients.every((line) => line.includes(`laddr=127.0.0.1:${redis.tlsPort} `))).toBe(true);
    // The round's objects went through the store's public HTTPS address.
    expect(s3FrontDoor.connections()).toBeGreaterThan(0);
    expect(siteWorker.output()).toMatch(/train done in \d+ ms/);
  }, 420_000);
});
