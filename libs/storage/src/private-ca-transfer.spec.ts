/**
 * A site's worker reaches the object store over HTTPS at its public address, whose certificate
 * comes from the consortium's private CA: Node's NODE_EXTRA_CA_CERTS must make the global fetch
 * of transfer.ts trust it. Node reads that variable once at start-up, so each case runs
 * transfer.ts in a child process (bundled here with esbuild: no TypeScript loader in a child),
 * against s3rver behind the Signature V4 checker and a TLS-terminating proxy.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalCa } from '../../../scripts/local-stack/local-ca';
import { startS3Server, type S3Server } from '../../../scripts/local-stack/s3-server';
import { startTcpProxy, type TcpProxy } from '../../../scripts/local-stack/tcp-proxy';
import { MinioObjectStore, sha256Hex } from './index';

const BUCKET = 'scprivacy-private-ca';

/** Runs `node child.mjs` with `env`; its exit code and what it printed. */
function runChild(script: string, env: Record<string, string>) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    const { NODE_EXTRA_CA_CERTS: _inherited, ...parentEnv } = process.env;
    execFile(process.execPath, [script], { env: { ...parentEnv, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe('presigned HTTPS URLs signed by a private CA', () => {
  let dir: string;
  let server: S3Server;
  let proxy: TcpProxy;
  let store: MinioObjectStore;
  let caFile: string;
  let child: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scp-private-ca-'));
    const ca = createLocalCa();
    caFile = join(dir, 'ca.crt');
    await writeFile(caFile, ca.certificatePem);
    server = await startS3Server({ verifySignatures: true });
    proxy = await startTcpProxy({ targetPort: server.port, tls: ca.issueServer(['localhost']) });
    store = new MinioObjectStore({
      endPoint: server.endPoint,
      port: server.port,
      useSSL: false,
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      region: server.region,
      bucket: BUCKET,
      publicEndpoint: `https://localhost:${proxy.port}`,
    });
    await store.ensureBucket();

    // The child uploads DATA (hex) to PUT_URL, downloads it back from GET_URL and checks it.
    const bundle = join(dir, 'transfer.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('./transfer.ts', import.meta.url))],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    });
    child = join(dir, 'child.mjs');
    await writeFile(
      child,
      `import { downloadVerified, uploadTo } from ${JSON.stringify(bundle)};
const data = Buffer.from(process.env.DATA, 'hex');
try {
  const put = await uploadTo(process.env.PUT_URL, data);
  const back = await downloadVerified(process.env.GET_URL, put.sha256);
  console.log('transferred', put.bytes, back.equals(data));
} catch (e) {
  console.log(e.message);
  process.exit(1);
}
`,
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const urls = async (key: string) => ({
    PUT_URL: await store.presignedPutUrl(key, 60),
    GET_URL: await store.presignedGetUrl(key, 60),
  });

  it('without NODE_EXTRA_CA_CERTS the transfer fails, naming the object and what to set', async () => {
    const env = await urls('site/untrusted.bin');
    expect(new URL(env.PUT_URL).origin).toBe(`https://localhost:${proxy.port}`);
    const { code, out } = await runChild(child, { ...env, DATA: randomBytes(32).toString('hex') });
    expect(code).toBe(1);
    expect(out).toMatch(
      /PUT of object "site\/untrusted.bin" failed \(.*certificate.*: set NODE_EXTRA_CA_CERTS to the PEM file of the CA/,
    );
    expect(out).not.toContain('X-Amz-Signature'); // the URL (a capability) is never printed
    expect(await store.stat('site/untrusted.bin')).toBeNull();
  });

  it('with NODE_EXTRA_CA_CERTS naming the CA, the global fetch trusts it and the signed URLs work', async () => {
    const data = randomBytes(2048);
    const env = await urls('site/trusted.bin');
    const { code, out } = await runChild(child, {
      ...env,
      DATA: data.toString('hex'),
      NODE_EXTRA_CA_CERTS: caFile,
    });
    expect(out.trim()).toBe(`transferred ${data.length} true`);
    expect(code).toBe(0);
    expect(await store.getBuffer('site/trusted.bin', sha256Hex(data))).toEqual(data);
  });
});
