import { createServer } from 'node:http';
import { BackendUnavailableError, initBackend } from '@fl/engine';
import { InstitutionRuntime, StartupError, startupStep, StateLostError } from '@fl/platform';
import {
  closeOnSignals,
  parseRedisUrl,
  redisConnectHint,
  redisTlsFailure,
  startInstitutionWorker,
  workerRedisConnection,
} from '@fl/queue';
import { downloadVerified, uploadTo } from '@fl/storage';
import { ConfigError, loadIdentityConfig, loadWorkerConfig, type IdentityConfig } from './config';
import { loadDataset } from './dataset-loader';
import { IdentityStore } from './identity-store';
import { fetchCertificate } from './certificate-client';

const HELP = `scprivacy trainer worker: one institution's training, next to its data.

Consumes only this institution's queue, with this institution's Redis credentials.
Options:
  --init   make the key pair and the certificate request (CSR) in WORKER_STATE_DIR, print its path, exit
  --help   this text
Environment:
  INSTITUTION            this institution's name
  WORKER_REDIS_URL       rediss://worker-<institution>:<password>@host:port (redis:// inside the cluster)
  WORKER_REDIS_CA_FILE   optional: PEM CA bundle trusted for rediss:// besides the system roots
                         (the consortium's Redis CA); the certificate is always verified
  WORKER_STATE_DIR       private directory: key pair (encrypted), CSR, certificate
  WORKER_KEY_PASSPHRASE  encrypts the private key at rest (16+ characters)
  SITE_DATA_DIR          optional: data that never leaves the site
  SCPRIVACY_BACKEND      auto | tensorflow-gpu | tensorflow | wasm | cpu
  WORKER_LOCK_MS         job lock (default 60000): a killed worker's job is retried after it
  API_URL, API_TOKEN     optional: fetch the certificate from the API once issued
  NODE_EXTRA_CA_CERTS    optional (Node's own): PEM CA bundle trusted for HTTPS to the API and to
                         the object store's presigned URLs, besides the system roots (and for
                         rediss:// when WORKER_REDIS_CA_FILE is not set)
  WORKER_HEALTH_PORT     optional: GET /health answers 200 while the worker runs
Exit codes: 0 stopped by a signal, 1 start-up failure (e.g. the API's certificate not trusted),
  2 bad configuration, 3 queue credentials refused,
  4 TLS to Redis failed (certificate not trusted, wrong name or expired; not a TLS port).
`;

/** The institution's key pair in its state directory, made on first use. */
async function openIdentity(config: IdentityConfig) {
  const identities = new IdentityStore(config.stateDir, config.institution, config.keyPassphrase);
  const identity = await startupStep(
    `cannot open the institution's key in ${config.stateDir} (WORKER_STATE_DIR; is WORKER_KEY_PASSPHRASE the one it was made with?)`,
    () => identities.loadOrCreate(),
  );
  return { identities, identity };
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  if (process.argv.includes('--init')) {
    // Key pair and CSR only: the operator sends the CSR to the consortium and installs the
    // certificate. Only the identity settings are needed (no queue login exists yet).
    const { identities } = await openIdentity(loadIdentityConfig());
    process.stdout.write(`${identities.csrPath}\n`);
    return;
  }
  const config = loadWorkerConfig();
  const { identities, identity } = await openIdentity(config);
  const backend = await initBackend(config.backend);
  let caCertificatePem = await identities.installCertificate(identity);
  if (!caCertificatePem && config.apiUrl && config.apiToken) {
    const fetched = await startupStep(
      `cannot fetch the certificate from the API at ${config.apiUrl} (API_URL)`,
      () => fetchCertificate(config.apiUrl!, config.apiToken!),
    );
    if (fetched) {
      await identities.saveCertificate(fetched.certificatePem, fetched.caCertificatePem);
      caCertificatePem = await identities.installCertificate(identity);
    }
  }
  log(
    `${config.institution}: backend ${backend}; ` +
      (caCertificatePem
        ? 'certified identity loaded'
        : `not certified yet (CSR at ${identities.csrPath}); plain federations only until it is`),
  );

  const runtime = new InstitutionRuntime({
    institution: config.institution,
    backend,
    loadDataset: (source) => loadDataset(source, config.siteDataDir),
    readObject: (o) => downloadVerified(o.url, o.sha256),
    writeObject: async (t, data) => ({ key: t.key, ...(await uploadTo(t.url, data)) }),
    signer: caCertificatePem ? identity.signer() : undefined,
    caCertificatePem,
  });

  // EVALSHA only: the queue user may not EVAL. NOSCRIPT (Redis restarted or its script cache
  // flushed, and the aggregator has not loaded BullMQ's scripts again yet) is waited out.
  const connection = workerRedisConnection(config.redisUrl, {
    variable: 'WORKER_REDIS_URL',
    ca: config.redisCa?.certificates,
    onScriptMissing: (attempt, sha) => {
      if (attempt === 1 || attempt % 20 === 0) {
        log(
          `Redis does not have BullMQ script ${sha.slice(0, 12)} loaded (NOSCRIPT); waiting for the aggregator ` +
            `to load it (attempt ${attempt}). If this lasts, the aggregator is down or runs another BullMQ version.`,
        );
      }
    },
  });
  // Refused credentials do not heal by retrying (a revoked institution, a rotated password),
  // nor does a Redis certificate this site does not trust: stop with a clear message instead of
  // retrying ten times a second for ever.
  const tlsContext = {
    variable: 'WORKER_REDIS_URL',
    url: config.redisUrl,
    caVariable: 'WORKER_REDIS_CA_FILE',
    caGiven: config.redisCa !== undefined,
  };
  let resets = 0;
  const refused = (e: Error) => {
    const tls = redisTlsFailure(e, tlsContext);
    if (tls) {
      process.stderr.write(`trainer-worker: ${tls}. Stopping.\n`);
      process.exit(4);
    }
    const hint = redisConnectHint(e, tlsContext);
    // Not fatal (a connection reset can be a network blip), but never silent: said at the first
    // reset and every 20th after it.
    if (hint && resets++ % 20 === 0) log(hint);
    if (!/WRONGPASS|NOAUTH|invalid username-password/i.test(e.message)) return false;
    process.stderr.write(
      `trainer-worker: Redis refused ${config.institution}'s queue credentials (${e.message.split('\n')[0]}); ` +
        'the institution may have been revoked or its password changed. Stopping.\n',
    );
    process.exit(3);
  };
  connection.on('error', (e: Error) => void refused(e));
  // Said once, so an operator sees where the queue is and whether TLS protects it.
  connection.once('ready', () => {
    const { host, port, tls } = parseRedisUrl(config.redisUrl, 'WORKER_REDIS_URL');
    log(`connected to Redis at ${host}:${port}${tls ? ' over TLS' : ''}`);
  });
  const wrap =
    <D, R>(name: string, fn: (d: D) => Promise<R>) =>
    async (data: D): Promise<R> => {
      const started = performance.now();
      try {
        const result = await fn(data);
        log(`${name} done in ${Math.round(performance.now() - started)} ms`);
        return result;
      } catch (e) {
        // The aggregator reads the prefix to tell lost keys (re-key) from other failures.
        if (e instanceof StateLostError) throw new Error(`state-lost: ${e.message}`);
        throw e;
      }
    };
  const { close } = startInstitutionWorker({
    institution: config.institution,
    connection,
    handlers: {
      describe: wrap('describe', (d) => runtime.describe(d)),
      'secagg-advertise': wrap('secagg-advertise', (d) => runtime.advertise(d)),
      'secagg-share': wrap('secagg-share', (d) => runtime.shareKeys(d)),
      'secagg-receive': wrap('secagg-receive', (d) => runtime.receiveShares(d)),
      'gene-scores': wrap('gene-scores', (d) => runtime.geneScores(d)),
      train: wrap('train', (d) => runtime.train(d)),
      unmask: wrap('unmask', (d) => runtime.unmask(d)),
      landmarks: wrap('landmarks', (d) => runtime.landmarks(d)),
    },
    onError: (e) => {
      if (!refused(e)) log(`error: ${e.message}`);
    },
    lockDurationMs: config.lockMs,
  });
  const health =
    config.healthPort !== undefined
      ? createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')).listen(
          config.healthPort,
        )
      : undefined;
  closeOnSignals({
    close: async () => {
      log('stopping: finishing the current job');
      health?.close();
      await close();
      await connection.quit().catch(() => undefined);
    },
  });
  log(`${config.institution}: waiting for jobs`);
}

function log(message: string): void {
  process.stdout.write(`[trainer-worker ${new Date().toISOString()}] ${message}\n`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`trainer-worker: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof BackendUnavailableError) {
    // SCPRIVACY_BACKEND names a tensor backend this image or machine does not have: the
    // operator's setting to change, not a crash.
    const fix = e.installCommand ? `run \`${e.installCommand}\` or ` : '';
    process.stderr.write(
      `trainer-worker: SCPRIVACY_BACKEND=${e.backend}: ${e.message}; ${fix}set SCPRIVACY_BACKEND=auto\n`,
    );
    process.exit(2);
  }
  if (e instanceof StartupError) {
    process.stderr.write(`trainer-worker: ${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`trainer-worker: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
