import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';

/**
 * A throw-away certificate authority for TLS on this machine (rediss://, HTTPS proxies): the
 * stand-in for a consortium's private CA, made fresh by each test so nothing is downloaded or
 * kept. RSA 2048 / SHA-256, valid one day from an hour ago (clock skew).
 */

export interface LocalCa {
  certificatePem: string;
  /** Issues a server certificate for `hosts` (DNS names and IP addresses, the first is the CN). */
  issueServer(hosts: string[], opts?: { expired?: boolean }): ServerCertificate;
}

export interface ServerCertificate {
  certificatePem: string;
  keyPem: string;
}

/** The files of a CA and one server certificate, as redis-server and Node's TLS read them. */
export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

const HOUR = 3600_000;

export function createLocalCa(name = `scprivacy test CA ${randomBytes(4).toString('hex')}`): LocalCa {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - HOUR);
  cert.validity.notAfter = new Date(Date.now() + 24 * HOUR);
  const subject = [{ name: 'commonName', value: name }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());

  return {
    certificatePem: forge.pki.certificateToPem(cert),
    issueServer(hosts, opts = {}) {
      const leafKeys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
      const leaf = forge.pki.createCertificate();
      leaf.publicKey = leafKeys.publicKey;
      leaf.serialNumber = serial();
      const start = opts.expired ? Date.now() - 48 * HOUR : Date.now() - HOUR;
      leaf.validity.notBefore = new Date(start);
      leaf.validity.notAfter = new Date(start + 24 * HOUR);
      leaf.setSubject([{ name: 'commonName', value: hosts[0] }]);
      leaf.setIssuer(cert.subject.attributes);
      leaf.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          // forge: type 2 is a DNS name, type 7 an IP address.
          altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })),
        },
        { name: 'authorityKeyIdentifier', keyIdentifier: cert.generateSubjectKeyIdentifier().getBytes() },
      ]);
      leaf.sign(keys.privateKey, forge.md.sha256.create());
      return {
        certificatePem: forge.pki.certificateToPem(leaf),
        keyPem: forge.pki.privateKeyToPem(leafKeys.privateKey),
      };
    },
  };
}

/** Writes the CA certificate and a server certificate for `hosts` into `dir`. */
export async function writeTlsFiles(dir: string, ca: LocalCa, hosts: string[]): Promise<TlsFiles> {
  await mkdir(dir, { recursive: true });
  const server = ca.issueServer(hosts);
  const files = {
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
  };
  await writeFile(files.caFile, ca.certificatePem);
  await writeFile(files.certFile, server.certificatePem);
  await writeFile(files.keyFile, server.keyPem, { mode: 0o600 });
  return files;
}

function serial(): string {
  // Positive (high bit clear), 16 bytes, as RFC 5280 asks.
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}
