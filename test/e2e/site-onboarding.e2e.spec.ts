import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createLocalCa, writeTlsFiles, type TlsFiles } from '../../scripts/local-stack/local-ca';
import { startService, type Service } from '../../scripts/local-stack/processes';
import { startTlsRedis, type TlsRedisInstance } from '../../scripts/local-stack/redis-tls';
import { Stack } from '../../scripts/local-stack/stack';
import { startTcpProxy, type TcpProxy } from '../../scripts/local-stack/tcp-proxy';
import { CLI, runNode } from '../cli/run-cli';
import { EXAMPLE, rounds, startFederation, tempDir, waitForFederation } from './e2e-helpers';

/**
 * docs/deployment.md's site steps (5 to 7), for real, with the built command line and services:
 * the consortium administrator onboards a site with `scprivacy consortium add-site`; the site's
 * worker runs with exactly what the written Secret, CA Secret and values give it (as the chart's
 * site mode maps them: WORKER_REDIS_URL over rediss:// to Redis's TLS port, API_URL through the
 * API's HTTPS front door, the CA files), makes its key and CSR on first start; the administrator
 * certifies it with `certify-site`; the restarted worker fetches its certificate; the site
 * registers its reference, which stays in its SITE_DATA_DIR, with `site register-dataset`; and a
 * secure federation with an in-cluster institution completes.
 */

const TRAINING = { rounds: 2, seed: 7, hiddenSize: 32, embeddingSize: 8, learningRate: 0.0005 };
const [IN_CLUSTER_SPEC, SITE_SPEC] = EXAMPLE.institutions;
const SITE = 'hospital-site';

interface SecretManifest {
  metadata: { name: string };
  stringData: Record<string, string>;
}
interface SiteValues {
  mode: string;
  site: { institution: string; apiUrl: string; existingSecret: string; redisCa?: { key: string } };
}

describe('a site onboarded as docs/deployment.md says', () => {
  let dir: string;
  let tls: TlsFiles;
  let redis: TlsRedisInstance;
  let stack: Stack;
  let apiFrontDoor: TcpProxy;
  const started: Service[] = [];

  beforeAll(async () => {
    dir = await tempDir('site-onboarding');
    const ca = createLocalCa('scprivacy e2e onboarding CA');
    tls = await writeTlsFiles(join(dir, 'tls'), ca, ['localhost', '127.0.0.1']);
    redis = await startTlsRedis(join(dir, 'redis'), tls, { plainPort: true });
    // Only the in-cluster institution is set up by the stack; the site is onboarded below.
    stack = await new Stack({
      dir,
      consortium: 'onboarding consortium',
      institutions: [IN_CLUSTER_SPEC],
      redisUrl: redis.url,
    }).start();
    apiFrontDoor = await startTcpProxy({
      targetPort: Number(new URL(stack.apiUrl).port),
      tls: ca.issueServer(['localhost']),
    });
  }, 300_000);

  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    await stack?.stop();
    await apiFrontDoor?.stop();
    await redis?.stop();
    if (!process.env.KEEP_E2E_DIR) await rm(dir, { recursive: true, force: true });
  });

  it('add-site, install, certify-site, register-dataset, then a secure federation completes', async () => {
    const adminTokenFile = join(dir, 'admin-token');
    await writeFile(adminTokenFile, `${stack.adminToken}\n`, { mode: 0o600 });
    const siteApi = `https://localhost:${apiFrontDoor.port}`;
    const cli = (args: string[], env: Record<string, string> = {}) =>
      runNode(CLI, args, { NODE_EXTRA_CA_CERTS: tls.caFile, ...env }, dir);

    // 5. The administrator onboards the site in one command.
    const out = join(dir, `site-${SITE}`);
    const added = await cli([
      'consortium',
      'add-site',
      '--api',
      stack.apiUrl,
      '--token-file',
      adminTokenFile,
      '--institution',
      SITE,
      '--redis-host',
      'localhost',
      '--redis-port',
      String(redis.tlsPort),
      '--redis-ca',
      tls.caFile,
      '--extra-ca',
      tls.caFile,
      '--site-api-url',
      siteApi,
      '--out',
      out,
    ]);
    expect(added.status, added.stderr).toBe(0);

    // At the site: what the chart's site mode makes of the files.
    const secret = parse(await readFile(join(out, `secret-site-${SITE}.yaml`), 'utf8')) as SecretManifest;
    const caSecret = parse(
      await readFile(join(out, `secret-site-${SITE}-ca.yaml`), 'utf8'),
    ) as SecretManifest;
    const values = parse(await readFile(join(out, `values-site-${SITE}.yaml`), 'utf8')) as SiteValues;
    expect(values).toMatchObject({ mode: 'site', site: { institution: SITE, apiUrl: siteApi } });
    const mounted = join(dir, 'site-mounts');
    await mkdir(mounted, { recursive: true });
    for (const [key, content] of Object.entries(caSecret.stringData))
      await writeFile(join(mounted, key), content);
    const siteData = join(dir, 'site-data');
    await mkdir(siteData, { recursive: true });
    const reference = join(siteData, basename(SITE_SPEC.datasets[0]));
    await copyFile(SITE_SPEC.datasets[0], reference);
    const env = {
      INSTITUTION: values.site.institution,
      WORKER_REDIS_URL: secret.stringData.WORKER_REDIS_URL,
      API_TOKEN: secret.stringData.API_TOKEN,
      WORKER_KEY_PASSPHRASE: secret.stringData.WORKER_KEY_PASSPHRASE,
      API_URL: values.site.apiUrl,
      WORKER_REDIS_CA_FILE: join(mounted, values.site.redisCa!.key),
      NODE_EXTRA_CA_CERTS: join(mounted, 'extra-ca.crt'),
      WORKER_STATE_DIR: join(dir, 'site-state'),
      SITE_DATA_DIR: siteData,
      SCPRIVACY_BACKEND: 'wasm',
    };
    expect(env.WORKER_REDIS_URL).toMatch(
      new RegExp(`^rediss://worker-${SITE}:[^@]+@localhost:${redis.tlsPort}$`),
    );

    // First start: it makes its key and CSR and runs, not certified yet.
    const first = startService('site-first-start', 'dist/trainer-worker/main.js', env, stack.logDir);
    started.push(first);
    await first.waitFor(/not certified yet \(CSR at /, 60_000);
    await first.waitFor(new RegExp(`connected to Redis at localhost:${redis.tlsPort} over TLS`), 60_000);
    await first.stop();

    // The administrator certifies the CSR the worker made.
    const certified = await cli(
      [
        'consortium',
        'certify-site',
        '--api',
        stack.apiUrl,
        '--institution',
        SITE,
        '--csr',
        join(env.WORKER_STATE_DIR, 'institution.csr.pem'),
      ],
      { SCPRIVACY_ADMIN_TOKEN: stack.adminToken },
    );
    expect(certified.status, certified.stderr).toBe(0);

    // The restarted worker fetches its certificate through the API's HTTPS front door.
    const worker = startService('site', 'dist/trainer-worker/main.js', env, stack.logDir);
    started.push(worker);
    await worker.waitFor(new RegExp(`${SITE}: backend \\w+; certified identity loaded`), 60_000);
    await worker.waitFor(/waiting for jobs/, 60_000);
    expect(apiFrontDoor.connections()).toBeGreaterThan(0);

    // 6. The site registers its reference, which stays where it is.
    const memberToken = join(dir, 'site-token');
    await writeFile(memberToken, secret.stringData.API_TOKEN, { mode: 0o600 });
    const registered = await cli([
      'site',
      'register-dataset',
      '--api',
      siteApi,
      '--token-file',
      memberToken,
      '--institution',
      SITE,
      '--file',
      reference,
      '--json',
    ]);
    expect(registered.status, registered.stderr).toBe(0);
    const dataset = JSON.parse(registered.stdout) as { id: string };

    // 7. The first federation: secure, the in-cluster institution and the site.
    const id = await startFederation(stack, {
      name: 'first',
      institutions: [IN_CLUSTER_SPEC.name, SITE],
      datasets: [
        {
          institution: IN_CLUSTER_SPEC.name,
          datasetIds: stack.institutions.get(IN_CLUSTER_SPEC.name)!.datasetIds,
        },
        { institution: SITE, datasetIds: [dataset.id] },
      ],
      ...TRAINING,
      secureAggregation: true,
      roundDeadlineSeconds: 120,
    });
    await waitForFederation(stack, id, (f) => f.status === 'completed', 300_000);
    const history = await rounds(stack, id);
    expect(history.map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(
      history.every((r) => [...r.survivors].sort().join() === [IN_CLUSTER_SPEC.name, SITE].sort().join()),
    ).toBe(true);
    expect(worker.output()).toMatch(/train done in \d+ ms/);
  }, 600_000);
});
