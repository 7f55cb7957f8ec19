import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

/**
 * What consortium certificates look like: serial numbers, validity windows, extensions, and
 * the checks a verifier applies to a leaf beyond its chain.
 */

const DAY_MS = 86_400_000;

/**
 * 16 random bytes, hex. The first byte is forced into 0x40-0x7f: X.509 serials are DER INTEGERs
 * that must be positive (top bit clear) and minimally encoded (no leading zero byte), leaving 126
 * random bits, well above the CA/Browser Forum's 64.
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x3f) | 0x40;
  return bytes.toString('hex');
}

/**
 * [now, now + validDays], in whole seconds: X.509 times have one-second resolution, and the
 * certificate's own dates are the ones later checks compare against.
 */
export function validityWindow(now: Date, validDays: number): { notBefore: Date; notAfter: Date } {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new RangeError('now must be a valid Date');
  if (!Number.isFinite(validDays) || validDays <= 0) {
    throw new RangeError(`validDays must be a positive number, not ${validDays}`);
  }
  const start = Math.floor(now.getTime() / 1000) * 1000;
  return { notBefore: new Date(start), notAfter: new Date(start + Math.round(validDays * DAY_MS)) };
}

/**
 * The root: a CA (pathLen 0: it issues institution certificates only, no intermediate CAs) whose
 * key signs certificates (keyCertSign) and revocation information (cRLSign; our revocation list
 * is a signed JSON document rather than an X.509 CRL, see revocation-list.ts).
 */
export function rootExtensions(): object[] {
  return [
    { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ];
}

/** An institution: not a CA, signs (digitalSignature), authenticates as a client (clientAuth). */
export function leafExtensions(root: forge.pki.Certificate): object[] {
  return [
    { name: 'basicConstraints', critical: true, cA: false },
    { name: 'keyUsage', critical: true, digitalSignature: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    // forge's `keyIdentifier: true` would use the leaf's own key, so the root's is passed explicitly.
    { name: 'authorityKeyIdentifier', keyIdentifier: root.generateSubjectKeyIdentifier().getBytes() },
  ];
}

interface BasicConstraints {
  cA?: boolean;
}
interface KeyUsage {
  digitalSignature?: boolean;
  keyCertSign?: boolean;
  cRLSign?: boolean;
}
interface ExtKeyUsage {
  clientAuth?: boolean;
}

/**
 * Why `cert` is not a usable institution certificate, or undefined. The chain check proves the
 * consortium issued it; this proves it was issued *as an institution's signing certificate* (so
 * the root itself, or a future certificate with another purpose, cannot sign envelopes).
 */
export function leafProfileProblem(cert: forge.pki.Certificate): string | undefined {
  const basic = cert.getExtension('basicConstraints') as BasicConstraints | undefined;
  if (basic?.cA) return 'it is a CA certificate, not an institution certificate';
  const usage = cert.getExtension('keyUsage') as KeyUsage | undefined;
  if (!usage?.digitalSignature) return 'its key usage does not allow digital signatures';
  const extUsage = cert.getExtension('extKeyUsage') as ExtKeyUsage | undefined;
  if (!extUsage?.clientAuth) return 'its extended key usage lacks clientAuth';
  return undefined;
}

/** Why `cert` cannot serve as the consortium root, or undefined. */
export function rootProfileProblem(cert: forge.pki.Certificate): string | undefined {
  const basic = cert.getExtension('basicConstraints') as BasicConstraints | undefined;
  if (!basic?.cA) return 'it is not a CA certificate';
  const usage = cert.getExtension('keyUsage') as KeyUsage | undefined;
  if (!usage?.keyCertSign) return 'its key usage does not allow signing certificates';
  if (!cert.isIssuer(cert)) return 'it is not self-issued';
  let selfSigned = false;
  try {
    selfSigned = cert.verify(cert);
  } catch {
    selfSigned = false;
  }
  if (!selfSigned) return 'its self-signature does not verify';
  return undefined;
}

/** Where `now` falls against the certificate's validity window. */
export function validityProblem(cert: forge.pki.Certificate, now: Date): string | undefined {
  const { notBefore, notAfter } = cert.validity;
  if (now.getTime() < notBefore.getTime()) return `is not valid until ${notBefore.toISOString()}`;
  if (now.getTime() > notAfter.getTime()) return `expired at ${notAfter.toISOString()}`;
  return undefined;
}
