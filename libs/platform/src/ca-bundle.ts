import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * A PEM bundle of CA certificates named by a variable (WORKER_REDIS_CA_FILE, REDIS_CA_FILE): the
 * consortium's private CA that signed its Redis' certificate. Read once at start-up, so a wrong
 * path or a mounted private key is a configuration error now, not a TLS failure later.
 */

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Why `file` is not a usable bundle; the caller names its variable (thrown as an Error). */
export class CaBundleError extends Error {}

/** The certificates of the PEM file `file`, one PEM string each. */
export function readCaBundle(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CaBundleError(`cannot read ${file} (${code ?? (e as Error).message})`);
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    // A key in a file mounted for everyone to read is a leak; say so rather than ignore it.
    throw new CaBundleError(`${file} holds a private key: give only the CA certificate(s)`);
  }
  const pems = text.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) {
    throw new CaBundleError(
      `${file} holds no PEM certificate (expected one or more -----BEGIN CERTIFICATE----- blocks)`,
    );
  }
  pems.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch {
      throw new CaBundleError(
        `${file}: certificate ${i + 1} of ${pems.length} is not a valid PEM certificate`,
      );
    }
  });
  return pems;
}
