import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { siteRelease, siteWorkerDeployment } from '../../apps/cli/src/commands/consortium-site-steps';
import { runHelm } from '../helm/helm-binary';
import { schemaErrors, type ManifestObject } from '../helm/k8s-schema';
import { CHART_DIR } from '../helm/render';
import { createConsortium, REDIS_URL, startApi, type ApiHarness } from '../api/support/api-harness';
import { CLI, REPO, runNode } from './run-cli';

/*
 * `scprivacy consortium add-site` / `certify-site` from dist/, against the real API (in this
 * process: so the command line runs asynchronously, never with spawnSync, which would block the
 * API it talks to) on Postgres, Redis and the S3 server.
 */

const WORKER = join(REPO, 'dist/trainer-worker/main.js');

/**
 * A pass-through proxy in front of the API that runs `afterRegistration` once the API has
 * registered an institution and before its answer reaches the command: a way to make a step
 * after the registration fail, deterministically, with the real API behind.
 */
async function registrationHook(
  target: string,
  afterRegistration: () => Promise<void>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createHttpServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const answer = await fetch(new URL(req.url ?? '/', target), {
        method: req.method,
        headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
        body: req.method === 'POST' ? body : undefined,
      });
      const text = await answer.text();
      if (body.toString().includes('registerInstitution')) await afterRegistration();
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** AUTH as a Redis user: 'OK' when the password works. */
async function authAs(username: string, password: string): Promise<unknown> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  try {
    return await client.call('AUTH', username, password);
  } finally {
    client.disconnect();
  }
}

interface PodSpecLike {
  containers: {
    env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  }[];
  volumes: { secret?: { secretName: string } }[];
}

interface SecretManifest {
  apiVersion: string;
  kind: string;
  type: string;
  metadata: { name: string; namespace: string };
  stringData: Record<string, string>;
}

const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

describe('scprivacy consortium add-site (real API)', () => {
  let api: ApiHarness;
  let consortium: { id: string; adminToken: string };
  let dir: string;
  let tokenFile: string;

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runNode(CLI, ['consortium', ...args], env, dir);
  /** add-site as the administrator, against the test API and the machine's plain Redis by default. */
  const addSite = (institution: string, extra: string[] = []) =>
    cli([
      'add-site',
      '--api',
      api.url,
      '--token-file',
      tokenFile,
      '--institution',
      institution,
      '--redis-host',
      '127.0.0.1',
      '--allow-insecure-api',
      ...extra,
    ]);
  const name = (base: string) => `${base}-${api.suffix}`;
  const institutionNamed = async (n: string) =>
    (
      await api.gqlOk<{
        institutions: { id: string; name: string; status: string; certificatePem: string | null }[];
      }>(
        'query($c: ID!) { institutions(consortiumId: $c) { id name status certificatePem } }',
        { c: consortium.id },
        consortium.adminToken,
      )
    ).institutions.find((i) => i.name === n);

  /** A key pair and CSR made as a site makes them: the worker's --init, in its own state folder. */
  async function initWorker(institution: string, passphrase: string): Promise<string> {
    const stateDir = join(dir, `state-${institution}`);
    const r = await runNode(
      WORKER,
      ['--init'],
      {
        INSTITUTION: institution,
        // Only the identity settings: a site runs --init before it has any queue login.
        WORKER_STATE_DIR: stateDir,
        WORKER_KEY_PASSPHRASE: passphrase,
      },
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  }

  beforeAll(async () => {
    if (!existsSync(CLI) || !existsSync(WORKER)) {
      throw new Error('dist/ is missing: run `npm run build` before the command-line tests');
    }
    api = await startApi('addsite');
    consortium = await createConsortium(api, 'Add site');
    dir = await mkdtemp(join(tmpdir(), 'add-site-'));
    tokenFile = join(dir, 'admin-token');
    await writeFile(tokenFile, `${consortium.adminToken}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers a site and writes a Secret whose credentials work and values for site mode', async () => {
    const inst = name('hospital-a');
    const out = join(dir, 'a');
    const r = await addSite(inst, [
      '--display-name',
      'Hospital A',
      '--redis-port',
      '6379',
      '--redis-insecure',
      '--namespace',
      'site-a',
      '--site-api-url',
      'https://scprivacy.example.org',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);

    const secretFile = join(out, `secret-site-${inst}.yaml`);
    const valuesFile = join(out, `values-site-${inst}.yaml`);
    expect(await modeOf(secretFile)).toBe(0o600);
    const secret = parse(await readFile(secretFile, 'utf8')) as SecretManifest;
    expect(secret).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: `scprivacy-site-${inst}`, namespace: 'site-a' },
    });
    expect(Object.keys(secret.stringData).sort()).toEqual([
      'API_TOKEN',
      'WORKER_KEY_PASSPHRASE',
      'WORKER_REDIS_URL',
    ]);
    // A generated passphrase: 32 random bytes, base64url.
    expect(secret.stringData.WORKER_KEY_PASSPHRASE).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The queue login is the institution's own Redis ACL user, and its password works.
    const redisUrl = new URL(secret.stringData.WORKER_REDIS_URL);
    expect(redisUrl.protocol).toBe('redis:');
    expect(`${redisUrl.hostname}:${redisUrl.port}`).toBe('127.0.0.1:6379');
    expect(decodeURIComponent(redisUrl.username)).toBe(`worker-${inst}`);
    expect(await authAs(decodeURIComponent(redisUrl.username), decodeURIComponent(redisUrl.password))).toBe(
      'OK',
    );
    // The API token acts as a member of this institution.
    const me = await api.gqlOk<{ me: { kind: string; institutionName: string } }>(
      '{ me { kind institutionName } }',
      {},
      secret.stringData.API_TOKEN,
    );
    expect(me.me).toEqual({ kind: 'member', institutionName: inst });
    expect(r.stdout).not.toContain(secret.stringData.API_TOKEN);
    expect(r.stdout + r.stderr).not.toContain(decodeURIComponent(redisUrl.password));

    const values = parse(await readFile(valuesFile, 'utf8')) as Record<string, unknown>;
    expect(values).toEqual({
      mode: 'site',
      site: {
        institution: inst,
        apiUrl: 'https://scprivacy.example.org',
        existingSecret: `scprivacy-site-${inst}`,
        egress: { redisPort: 6379, s3Port: 443, apiPort: 443 },
      },
    });

    const row = await institutionNamed(inst);
    expect(row?.status).toBe('registered');
    // The next steps: apply the Secret, install the chart with these values, then certify.
    expect(r.stdout).toContain(`kubectl apply -f ${secretFile}`);
    expect(r.stdout).toContain(`helm install scprivacy-${inst} ./helm/scprivacy -n site-a -f ${valuesFile}`);
    expect(r.stdout).toContain(`scprivacy consortium certify-site --institution ${inst} --csr`);

    // Later, certify-site certifies the CSR its worker made with that Secret's passphrase.
    const csr = await initWorker(inst, secret.stringData.WORKER_KEY_PASSPHRASE);
    const c = await cli(['certify-site', '--api', api.url, '--institution', inst, '--csr', csr], {
      SCPRIVACY_ADMIN_TOKEN: consortium.adminToken,
    });
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/Certified/);
    const certified = await institutionNamed(inst);
    expect(certified?.status).toBe('certified');
    expect(certified?.certificatePem).toContain('BEGIN CERTIFICATE');
  });

  it('certifies the CSR given with --csr, over rediss:// by default, with the CA Secret', async () => {
    const inst = name('hospital-b');
    const out = join(dir, 'b');
    const passphrase = 'a passphrase the site chose at --init';
    const passFile = join(dir, 'b.pass');
    await writeFile(passFile, `${passphrase}\n`);
    const csr = await initWorker(inst, passphrase);
    // Any real CA certificate will do: the consortium's own root.
    const ca = join(dir, 'ca.pem');
    const { consortium: root } = await api.gqlOk<{ consortium: { caCertificatePem: string } }>(
      'query($c: ID!) { consortium(id: $c) { caCertificatePem } }',
      { c: consortium.id },
      consortium.adminToken,
    );
    await writeFile(ca, root.caCertificatePem);
    const r = await addSite(inst, [
      '--csr',
      csr,
      '--key-passphrase-file',
      passFile,
      '--redis-ca',
      ca,
      '--extra-ca',
      ca,
      '--out',
      out,
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      institution: { id: string; name: string; status: string };
      certified: boolean;
      files: { secret: string; values: string; caSecret: string };
    };
    expect(summary.institution).toMatchObject({ name: inst, status: 'certified' });
    expect(summary.certified).toBe(true);
    const row = await institutionNamed(inst);
    expect(row).toMatchObject({ id: summary.institution.id, status: 'certified' });

    const secret = parse(await readFile(summary.files.secret, 'utf8')) as SecretManifest;
    expect(secret.stringData.WORKER_KEY_PASSPHRASE).toBe(passphrase);
    const redisUrl = new URL(secret.stringData.WORKER_REDIS_URL);
    expect(redisUrl.protocol).toBe('rediss:');
    expect(redisUrl.port).toBe('6380');
    // The TLS port is the deployment's; the login itself is the same ACL user on this Redis.
    expect(await authAs(decodeURIComponent(redisUrl.username), decodeURIComponent(redisUrl.password))).toBe(
      'OK',
    );
    expect(r.stdout).not.toContain(secret.stringData.API_TOKEN);

    expect(await modeOf(summary.files.caSecret)).toBe(0o600);
    const caSecret = parse(await readFile(summary.files.caSecret, 'utf8')) as SecretManifest;
    expect(caSecret.metadata.name).toBe(`scprivacy-site-${inst}-ca`);
    expect(caSecret.stringData['redis-ca.crt'].trim()).toBe(root.caCertificatePem.trim());
    expect(caSecret.stringData['extra-ca.crt'].trim()).toBe(root.caCertificatePem.trim());
    const values = parse(await readFile(summary.files.values, 'utf8')) as { site: Record<string, unknown> };
    expect(values.site.redisCa).toEqual({ existingSecret: `scprivacy-site-${inst}-ca`, key: 'redis-ca.crt' });
    expect(values.site.extraCa).toEqual({ existingSecret: `scprivacy-site-${inst}-ca`, key: 'extra-ca.crt' });
    expect(values.site.allowInsecureApi).toBe(true);

    // The values and the Secret's name, as real Helm renders them in the chart's site mode, make
    // the Deployment the printed next steps name, reading its credentials from that Secret.
    const rendered = await runHelm([
      'template',
      siteRelease(inst),
      CHART_DIR,
      '--namespace',
      'scprivacy',
      '--values',
      summary.files.values,
    ]);
    expect(rendered.status, rendered.stderr).toBe(0);
    const objects = parseAllDocuments(rendered.stdout)
      .map((d) => d.toJS() as ManifestObject | null)
      .filter((o): o is ManifestObject => o !== null);
    for (const o of objects) expect(schemaErrors(o), `${o.kind} ${o.metadata?.name}`).toEqual([]);
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    expect(deployment.metadata?.name).toBe(siteWorkerDeployment(inst));
    const spec = (deployment as unknown as { spec: { template: { spec: PodSpecLike } } }).spec.template.spec;
    const env = new Map(spec.containers[0].env.map((e) => [e.name, e]));
    for (const key of ['WORKER_REDIS_URL', 'API_TOKEN', 'WORKER_KEY_PASSPHRASE']) {
      expect(env.get(key)?.valueFrom?.secretKeyRef, key).toEqual({ name: secret.metadata.name, key });
      expect(secret.stringData[key], key).toBeTruthy();
    }
    expect(env.get('API_URL')?.value).toBe(api.url);
    expect(env.get('WORKER_REDIS_CA_FILE')?.value).toBeTruthy();
    expect(spec.volumes.map((v) => v.secret?.secretName)).toContain(caSecret.metadata.name);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ['Deployment', 'NetworkPolicy', 'PersistentVolumeClaim', 'ServiceAccount'].sort(),
    );
    expect(values.site.egress).toEqual({
      redisPort: 6380,
      s3Port: 443,
      apiPort: Number(new URL(api.url).port),
    });
  });

  it('refuses to replace existing files without --force, before registering', async () => {
    const inst = name('hospital-c');
    const out = join(dir, 'c');
    await mkdir(out);
    const existing = join(out, `secret-site-${inst}.yaml`);
    await writeFile(existing, 'kept\n');
    const refused = await addSite(inst, ['--out', out]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/exists already.*nothing was registered.*--force/);
    expect(await readFile(existing, 'utf8')).toBe('kept\n');
    expect(await institutionNamed(inst)).toBeUndefined();

    const forced = await addSite(inst, ['--out', out, '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(await readFile(existing, 'utf8')).toContain('kind: Secret');
    expect(await modeOf(existing)).toBe(0o600);
  });

  it('says the institution IS registered, and how to recover, when its files cannot be written', async () => {
    const inst = name('hospital-d');
    const out = join(dir, 'd');
    await mkdir(out);
    const secretFile = join(out, `secret-site-${inst}.yaml`);
    // Someone else's file appears after the checks, while the API registers the institution.
    const proxy = await registrationHook(api.url, () => writeFile(secretFile, 'someone else\n'));
    try {
      const r = await cli(
        [
          'add-site',
          '--api',
          proxy.url,
          '--institution',
          inst,
          '--redis-host',
          'r',
          '--allow-insecure-api',
          '--out',
          out,
        ],
        {
          SCPRIVACY_ADMIN_TOKEN: consortium.adminToken,
        },
      );
      const row = await institutionNamed(inst);
      expect(row?.status).toBe('registered');
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `institution "${inst}" IS registered (id ${row!.id}), but its files could not be written`,
      );
      expect(r.stderr).toMatch(/token and queue password .* are lost/);
      expect(r.stderr).toContain(`revokeInstitution(institutionId: "${row!.id}")`);
      // Neither replaced nor joined by a half-written file.
      expect(await readFile(secretFile, 'utf8')).toBe('someone else\n');
      expect(await readdir(out)).toEqual([`secret-site-${inst}.yaml`]);
    } finally {
      await proxy.close();
    }
  });

  it('revokes a site with revoke-site --yes: its queue login and token stop working', async () => {
    const inst = name('hospital-r');
    const out = join(dir, 'r');
    expect((await addSite(inst, ['--out', out])).status).toBe(0);
    const secret = parse(await readFile(join(out, `secret-site-${inst}.yaml`), 'utf8')) as SecretManifest;
    const login = new URL(secret.stringData.WORKER_REDIS_URL);
    const revoke = (extra: string[]) =>
      cli(['revoke-site', '--api', api.url, '--token-file', tokenFile, '--institution', inst, ...extra]);

    const unconfirmed = await revoke([]);
    expect(unconfirmed.status).toBe(2);
    expect(unconfirmed.stderr).toMatch(/cannot be undone .*add --yes to confirm/);
    expect((await institutionNamed(inst))?.status).toBe('registered');

    const done = await revoke(['--yes']);
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toMatch(new RegExp(`Revoked ${inst}: its tokens no longer work`));
    expect((await institutionNamed(inst))?.status).toBe('revoked');
    await expect(
      authAs(decodeURIComponent(login.username), decodeURIComponent(login.password)),
    ).rejects.toThrow(/WRONGPASS|invalid username-password/);
    const me = await api.gql('{ me { kind } }', {}, secret.stringData.API_TOKEN);
    expect(me.errors?.[0]?.message).toBeTruthy();

    const again = await revoke(['--yes']);
    expect(again.status).toBe(3);
    expect(again.stderr).toContain(`institution "${inst}" is revoked already`);
  });

  it('says a name is already registered and writes nothing', async () => {
    const inst = name('hospital-a');
    const out = join(dir, 'again');
    const r = await addSite(inst, ['--out', out]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`institution "${inst}" is already registered.*nothing was written`));
    expect(existsSync(out)).toBe(false);
  });

  describe('refusals: a clear message, nothing registered, nothing written', () => {
    const passphrase = 'a passphrase the site chose at --init';
    let otherCsr: string;
    beforeAll(async () => {
      await writeFile(join(dir, 'wrong-token'), 'scp_not-a-token-of-this-platform\n');
      await writeFile(join(dir, 'refusal.pass'), `${passphrase}\n`);
      otherCsr = await initWorker(name('other'), passphrase);
    });
    const options = (token = tokenFile) => [
      '--api',
      api.url,
      '--token-file',
      token,
      '--redis-host',
      '127.0.0.1',
      '--allow-insecure-api',
    ];
    const cases: { case: string; args: (inst: string) => string[]; status: number; message: RegExp }[] = [
      {
        case: 'an http:// API address for the site without --allow-insecure-api',
        args: (inst) => [...options().filter((a) => a !== '--allow-insecure-api'), '--institution', inst],
        status: 2,
        message:
          /--api http:\/\/127\.0\.0\.1:\d+: a site calls the API with its token, so expected https:\/\//,
      },
      {
        case: 'a bad institution name',
        args: () => [...options(), '--institution', 'Hospital_A'],
        status: 2,
        message: /--institution "Hospital_A": expected 1-63 lower-case letters/,
      },
      {
        case: 'a token on the command line',
        args: (inst) => [...options(), '--institution', inst, '--token', 'abc'],
        status: 2,
        message: /shell's history/,
      },
      {
        case: 'a wrong token',
        args: (inst) => [...options(join(dir, 'wrong-token')), '--institution', inst],
        status: 3,
        message: /refused the administrator token/,
      },
      {
        case: 'a missing token file',
        args: (inst) => [...options(join(dir, 'missing-token')), '--institution', inst],
        status: 2,
        message: /--token-file .*missing-token: no such file/,
      },
      {
        case: 'a CSR of another institution',
        args: (inst) => [
          ...options(),
          '--institution',
          inst,
          '--csr',
          otherCsr,
          '--key-passphrase-file',
          join(dir, 'refusal.pass'),
        ],
        status: 2,
        message: /is the request of "other-[0-9a-f]+", not of institution "refused-/,
      },
      {
        case: '--csr without the passphrase its key was made with',
        args: (inst) => [...options(), '--institution', inst, '--csr', otherCsr],
        status: 2,
        message: /--csr needs --key-passphrase-file/,
      },
      {
        case: 'a CA file that is not a certificate',
        args: (inst) => [...options(), '--institution', inst, '--redis-ca', join(dir, 'refusal.pass')],
        status: 2,
        message: /--redis-ca .*refusal\.pass: expected PEM certificate/,
      },
    ];
    for (const c of cases) {
      it(`refuses ${c.case}`, async () => {
        const inst = name('refused');
        const out = join(dir, 'refused');
        const r = await cli(['add-site', ...c.args(inst), '--out', out]);
        expect(r.status).toBe(c.status);
        expect(r.stderr).toMatch(c.message);
        expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
        expect(existsSync(out)).toBe(false);
        expect(await institutionNamed(inst)).toBeUndefined();
      });
    }
  });

  it('refuses a member token: only the consortium administrator adds sites', async () => {
    const secret = parse(
      await readFile(join(dir, 'a', `secret-site-${name('hospital-a')}.yaml`), 'utf8'),
    ) as SecretManifest;
    const memberToken = join(dir, 'member-token');
    await writeFile(memberToken, secret.stringData.API_TOKEN);
    const out = join(dir, 'member');
    const r = await cli([
      'add-site',
      '--api',
      api.url,
      '--token-file',
      memberToken,
      '--institution',
      name('by-member'),
      '--redis-host',
      '127.0.0.1',
      '--allow-insecure-api',
      '--out',
      out,
    ]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/a member token, not a consortium administrator's/);
    expect(existsSync(out)).toBe(false);
  });

  it('names the address when the API cannot be reached', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const out = join(dir, 'unreachable');
    const r = await cli(
      [
        'add-site',
        '--api',
        `http://127.0.0.1:${port}`,
        '--institution',
        name('far'),
        '--redis-host',
        'r',
        '--allow-insecure-api',
        '--out',
        out,
      ],
      { SCPRIVACY_ADMIN_TOKEN: consortium.adminToken },
    );
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`cannot reach the API at http://127.0.0.1:${port} (ECONNREFUSED`);
    expect(existsSync(out)).toBe(false);
  });
});
