import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '@fl/formats';

/*
 * The files `consortium add-site` hands to a site: its Helm values (site mode of helm/scprivacy),
 * the Secret its worker reads, and, when CA files are given, a Secret with the CA bundles.
 *
 * The YAML is written by hand rather than with the `yaml` package, which is only a
 * devDependency (absent from a production install). Every string is written as a JSON string:
 * JSON's double-quoted strings are YAML double-quoted scalars with the same escapes, so no
 * value (a password with `:` or `#`, a PEM with line breaks) can change the document's shape.
 */

const q = (value: string): string => JSON.stringify(value);

/** Keys of the CA Secret (one Secret holds both bundles when both are given). */
export const REDIS_CA_KEY = 'redis-ca.crt';
export const EXTRA_CA_KEY = 'extra-ca.crt';

export interface SitePlan {
  institution: string;
  namespace: string;
  outDir: string;
  /** The Secret with WORKER_REDIS_URL, API_TOKEN and WORKER_KEY_PASSPHRASE. */
  secretName: string;
  /** The Secret with the CA bundles, when one is given. */
  caSecretName?: string;
  files: { values: string; secret: string; caSecret?: string };
}

export function planSiteFiles(opts: {
  institution: string;
  namespace: string;
  outDir: string;
  withCa: boolean;
}): SitePlan {
  const { institution, namespace, outDir } = opts;
  const secretName = `scprivacy-site-${institution}`;
  return {
    institution,
    namespace,
    outDir,
    secretName,
    caSecretName: opts.withCa ? `${secretName}-ca` : undefined,
    files: {
      values: join(outDir, `values-site-${institution}.yaml`),
      secret: join(outDir, `secret-site-${institution}.yaml`),
      caSecret: opts.withCa ? join(outDir, `secret-site-${institution}-ca.yaml`) : undefined,
    },
  };
}

const fileList = (plan: SitePlan): string[] =>
  [plan.files.secret, plan.files.caSecret, plan.files.values].filter((f): f is string => f !== undefined);

/**
 * Checks, before anything is registered, that the files can be written: --out is a folder (or
 * can be made in a writable one) and, without --force, none of the files exists yet. Nothing is
 * created here, so a refusal later (bad token, name taken) leaves no trace on disk.
 */
export async function checkSiteOutputs(plan: SitePlan, force: boolean): Promise<void> {
  const info = await stat(plan.outDir).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new InputError(
      `--out ${plan.outDir} is a file: expected a folder for the site's files`,
      plan.outDir,
    );
  }
  // The folder itself, or the nearest existing folder above it, which will hold it.
  let writable = info ? plan.outDir : resolve(plan.outDir);
  while (!info) {
    const parent = dirname(writable);
    const parentInfo = await stat(parent).catch(() => undefined);
    if (parentInfo?.isDirectory()) {
      writable = parent;
      break;
    }
    if (parentInfo || parent === writable) {
      throw new InputError(`--out ${plan.outDir}: ${parent} is not a folder`, plan.outDir);
    }
    writable = parent;
  }
  try {
    await access(writable, constants.W_OK | constants.X_OK);
  } catch {
    throw new InputError(
      `--out ${plan.outDir}: cannot write in ${writable} (permission denied)`,
      plan.outDir,
    );
  }
  for (const file of fileList(plan)) {
    const existing = await stat(file).catch(() => undefined);
    if (existing?.isDirectory()) {
      throw new InputError(`${file} is a folder: nothing was registered. Give another --out`, file);
    }
    if (existing && !force) {
      throw new InputError(
        `${file} exists already: nothing was registered. Give another --out, or --force to replace it`,
        file,
      );
    }
  }
}

export interface SiteValues {
  apiUrl: string;
  /** An http:// API (a trial set-up): the chart refuses it unless told so. */
  allowInsecureApi: boolean;
  redisPort: number;
  s3Port: number;
  apiPort: number;
  redisCa: boolean;
  extraCa: boolean;
}

/** values-site-<inst>.yaml: site mode of the chart (see helm/scprivacy/values.yaml, `site`). */
export function renderValues(plan: SitePlan, v: SiteValues): string {
  const caRef = (key: string) => [`    existingSecret: ${q(plan.caSecretName!)}`, `    key: ${q(key)}`];
  return [
    `# Helm values of the scPrivacy site ${q(plan.institution)}: the chart's site mode runs only this`,
    "# institution's trainer worker, in the institution's own cluster. Written by",
    '# `scprivacy consortium add-site`. No credential is in here: they are in the Secret',
    `# ${q(plan.secretName)} (${basename(plan.files.secret)}), applied first.`,
    'mode: "site"',
    'site:',
    `  institution: ${q(plan.institution)}`,
    `  apiUrl: ${q(v.apiUrl)}`,
    ...(v.allowInsecureApi
      ? [
          '  # No TLS to the API (--allow-insecure-api): the token travels in clear.',
          '  allowInsecureApi: true',
        ]
      : []),
    `  existingSecret: ${q(plan.secretName)}`,
    ...(v.redisCa ? ['  redisCa:', ...caRef(REDIS_CA_KEY)] : []),
    ...(v.extraCa ? ['  extraCa:', ...caRef(EXTRA_CA_KEY)] : []),
    "  # The worker's only destinations (besides DNS): the consortium's Redis (TLS), its object",
    '  # store (presigned HTTPS URLs) and its API. Add `to:` peers to narrow them to addresses.',
    '  egress:',
    `    redisPort: ${v.redisPort}`,
    `    s3Port: ${v.s3Port}`,
    `    apiPort: ${v.apiPort}`,
    '  # More settings of the worker (see helm/scprivacy/values.yaml), e.g.:',
    '  # gpu: true',
    '  # persistence: { size: 2Gi }',
    `  # siteData: { existingClaim: ${plan.institution}-references }`,
    '',
  ].join('\n');
}

/** Metadata of both Secrets: name, the namespace the chart is installed in, and labels to find them. */
function secretHeader(plan: SitePlan, name: string): string[] {
  return [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${q(name)}`,
    `  namespace: ${q(plan.namespace)}`,
    '  labels:',
    '    app.kubernetes.io/part-of: "scprivacy"',
    `    scprivacy.io/institution: ${q(plan.institution)}`,
    'type: Opaque',
  ];
}

export interface SiteCredentials {
  workerRedisUrl: string;
  apiToken: string;
  keyPassphrase: string;
}

/** secret-site-<inst>.yaml: the three keys the site worker reads (the chart's site.existingSecret). */
export function renderSecret(plan: SitePlan, c: SiteCredentials): string {
  return [
    `# Credentials of the scPrivacy site ${q(plan.institution)}: its worker's queue login, its API token`,
    '# and the passphrase of its private key. Shown nowhere else: keep this file safe, hand it over',
    '# over a secure channel, never commit it. `kubectl apply -f` it before `helm install`.',
    ...secretHeader(plan, plan.secretName),
    'stringData:',
    `  WORKER_REDIS_URL: ${q(c.workerRedisUrl)}`,
    `  API_TOKEN: ${q(c.apiToken)}`,
    `  WORKER_KEY_PASSPHRASE: ${q(c.keyPassphrase)}`,
    '',
  ].join('\n');
}

/** secret-site-<inst>-ca.yaml: the CA bundles (public certificates) the site's worker trusts. */
export function renderCaSecret(plan: SitePlan, ca: { redisCa?: string; extraCa?: string }): string {
  return [
    `# CA certificates for the scPrivacy site ${q(plan.institution)} (no secret: public certificates).`,
    ...secretHeader(plan, plan.caSecretName!),
    'stringData:',
    ...(ca.redisCa !== undefined ? [`  ${REDIS_CA_KEY}: ${q(ca.redisCa)}`] : []),
    ...(ca.extraCa !== undefined ? [`  ${EXTRA_CA_KEY}: ${q(ca.extraCa)}`] : []),
    '',
  ].join('\n');
}

export interface SiteFile {
  path: string;
  content: string;
  mode: number;
}

/**
 * Writes each file whole or not at all: into a temporary file beside it (with its final mode from
 * the start, so a secret is never readable by others even for a moment), then moved into place.
 * Without `force` the move is a hard link, which fails if the file appeared meanwhile.
 */
export async function writeSiteFiles(outDir: string, files: SiteFile[], force: boolean): Promise<void> {
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  for (const file of files) {
    const tmp = join(dirname(file.path), `.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(tmp, file.content, { mode: file.mode, flag: 'wx' });
    try {
      if (force) {
        await rename(tmp, file.path);
      } else {
        await link(tmp, file.path);
        await unlink(tmp);
      }
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }
}
