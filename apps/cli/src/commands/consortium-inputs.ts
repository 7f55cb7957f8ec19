import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import forge from 'node-forge';
import { InputError } from '@fl/formats';
// The file, not '@fl/platform': its index would load minio and zod into every CLI command's start.
import { INSTITUTION_NAME } from '../../../../libs/platform/src/queues';

/*
 * Everything `scprivacy consortium` reads from the command line and from files is checked here,
 * before the API is asked anything: a mistake must never leave a half-registered site behind.
 */

/** Environment variables the consortium commands read (documented in their --help). */
export const API_URL_ENV = 'SCPRIVACY_API_URL';
export const ADMIN_TOKEN_ENV = 'SCPRIVACY_ADMIN_TOKEN';

export function checkInstitutionName(name: string): string {
  if (!INSTITUTION_NAME.test(name)) {
    throw new InputError(
      `--institution "${name}": expected 1-63 lower-case letters, digits and dashes, starting with a letter ` +
        'or digit (it names the certificate, the queue and the Kubernetes objects)',
    );
  }
  return name;
}

/** The API's base URL from --api or SCPRIVACY_API_URL: http(s), nothing after the host but a path. */
export function apiUrl(option: string | undefined): string {
  const given = option ?? process.env[API_URL_ENV]?.trim();
  if (!given) throw new InputError(`--api is missing: give the API's address (or set ${API_URL_ENV})`);
  return httpUrl('--api', given);
}

export function httpUrl(option: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`${option} "${value}": expected an http:// or https:// address`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.search || url.hash) {
    throw new InputError(
      `${option} "${value}": expected an http:// or https:// address without credentials, query or fragment`,
    );
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\])$/i;
export const isLoopback = (url: string): boolean => LOOPBACK.test(new URL(url).hostname);

/**
 * The administrator's token, from --token-file or SCPRIVACY_ADMIN_TOKEN. Never from an option's
 * value: a token on the command line lands in the shell's history and in `ps`.
 */
export function adminToken(tokenFile: string | undefined): Promise<string> {
  return readToken(tokenFile, ADMIN_TOKEN_ENV, 'the administrator token');
}

/** A token from --token-file or the environment variable `env`; `what` names it in messages. */
export async function readToken(tokenFile: string | undefined, env: string, what: string): Promise<string> {
  if (tokenFile !== undefined) {
    const token = (await readText('--token-file', tokenFile)).trim();
    if (!token) throw new InputError(`--token-file ${tokenFile} is empty: expected ${what}`);
    if (/\s/.test(token)) {
      throw new InputError(`--token-file ${tokenFile}: expected one token (no spaces or several lines)`);
    }
    return token;
  }
  const token = process.env[env]?.trim();
  if (!token) {
    throw new InputError(
      `no ${what.replace(/^the /, '')}: give --token-file <file> or set ${env} (never on the command line)`,
    );
  }
  return token;
}

/** A hidden `--token` exists only to say why it is not accepted. */
export function refuseTokenOption(env = ADMIN_TOKEN_ENV): never {
  throw new InputError(
    `a token on the command line would be kept in the shell's history: put it in a file (--token-file) ` +
      `or in ${env}`,
  );
}

/**
 * A PEM bundle of one or more CA certificates (--redis-ca, --extra-ca). Each block must parse as
 * X.509; a private key in the file is refused, since the file ends up in a manifest to hand over.
 */
export async function caBundle(option: string, file: string): Promise<string> {
  const text = await readText(option, file);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new InputError(`${option} ${file} contains a private key: give only the CA certificate(s)`, file);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw new InputError(
      `${option} ${file}: expected PEM certificate(s) ("-----BEGIN CERTIFICATE-----"), found none`,
      file,
    );
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (e) {
      throw new InputError(
        `${option} ${file}: certificate ${i + 1} of ${blocks.length} is not valid X.509 (${(e as Error).message})`,
        file,
      );
    }
  });
  return `${blocks.join('\n')}\n`;
}

/**
 * The institution's certificate request (--csr), checked as the consortium CA will check it
 * (readable, signed by the key it carries, naming this institution), so a wrong file is refused
 * before the institution is registered rather than after.
 */
export async function institutionCsr(file: string, institution: string): Promise<string> {
  const text = await readText('--csr', file);
  const block = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]*?-----END CERTIFICATE REQUEST-----/.exec(
    text,
  )?.[0];
  if (!block) {
    throw new InputError(
      `--csr ${file}: expected a PEM certificate request ("-----BEGIN CERTIFICATE REQUEST-----"), as ` +
        '`node dist/trainer-worker/main.js --init` writes (institution.csr.pem in WORKER_STATE_DIR)',
      file,
    );
  }
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(block);
  } catch (e) {
    throw new InputError(
      `--csr ${file}: cannot read the certificate request (${(e as Error).message})`,
      file,
    );
  }
  let signed = false;
  try {
    signed = csr.verify();
  } catch {
    signed = false;
  }
  if (!signed) {
    throw new InputError(`--csr ${file}: the request is not signed by the key it carries (altered?)`, file);
  }
  const cn = csr.subject.getField('CN') as { value?: string } | null;
  if (cn?.value !== institution) {
    throw new InputError(
      `--csr ${file} is the request of "${cn?.value ?? '(no name)'}", not of institution "${institution}"`,
      file,
    );
  }
  return `${block}\n`;
}

/** Same rule as the worker (apps/trainer-worker config.ts): the key's passphrase has 16+ characters. */
const MIN_PASSPHRASE = 16;

/** --key-passphrase-file: the file's content, without its final line break. */
export async function keyPassphrase(file: string): Promise<string> {
  const passphrase = (await readText('--key-passphrase-file', file)).replace(/\r?\n$/, '');
  if (passphrase.length < MIN_PASSPHRASE || /[\r\n]/.test(passphrase)) {
    throw new InputError(
      `--key-passphrase-file ${file}: expected one line of at least ${MIN_PASSPHRASE} characters`,
      file,
    );
  }
  return passphrase;
}

/** A Redis host as a URL takes it: a DNS name, an IPv4 address, or an IPv6 address (bracketed here). */
export function redisHost(value: string): string {
  const host = value.includes(':') && !value.startsWith('[') ? `[${value}]` : value;
  let parsed: URL | undefined;
  try {
    parsed = new URL(`rediss://${host}:1`);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.hostname.toLowerCase() !== host.toLowerCase() || !host) {
    throw new InvalidArgumentError(
      `--redis-host "${value}": expected the host name or address of the consortium's Redis, without ` +
        'scheme or port',
    );
  }
  return host;
}

export function portNumber(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
      throw new InvalidArgumentError(`${option} must be a port number (1-65535), got "${value}"`);
    }
    return n;
  };
}

/** A Kubernetes namespace: a DNS-1123 label. */
export function namespaceName(value: string): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) {
    throw new InvalidArgumentError(
      `--namespace "${value}": expected a Kubernetes namespace (lower-case letters, digits, dashes; 63 at most)`,
    );
  }
  return value;
}

async function readText(option: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a folder'
            : (e as Error).message;
    throw new InputError(`${option} ${file}: ${why}`, file);
  }
}
