import forge from 'node-forge';
import {
  leafExtensions,
  randomSerialHex,
  rootExtensions,
  rootProfileProblem,
  validityProblem,
  validityWindow,
} from './certificate-profile';
import { CertificationRefused } from './errors';
import {
  DEFAULT_KEY_ITERATIONS,
  MIN_RSA_BITS,
  decryptPrivateKey,
  encryptPrivateKey,
  generateRsaKeyPair,
  sameRsaPublicKey,
} from './keys';
import {
  consortiumRootName,
  institutionIdProblem,
  institutionName,
  nameProblem,
  readNameField,
} from './names';
import { signRevocationList, verifyRevocationList, type RevocationList } from './revocation-list';

/** A certificate the authority issued (its own record, kept so it can revoke by institution). */
export interface IssuedCertificate {
  serial: string;
  institutionId: string;
  notBefore: string;
  notAfter: string;
}

export const AUTHORITY_EXPORT_FORMAT = 'scprivacy-consortium-authority/v1';

/** Everything needed to restore the authority elsewhere. Only the private key is secret, and it is encrypted. */
export interface ExportedAuthority {
  format: typeof AUTHORITY_EXPORT_FORMAT;
  certificatePem: string;
  /** PKCS#8 EncryptedPrivateKeyInfo (PBKDF2-HMAC-SHA256, AES-256-CBC). */
  encryptedPrivateKeyPem: string;
  issued: IssuedCertificate[];
  revocationList: RevocationList;
}

export interface CreateAuthorityOptions {
  consortiumName: string;
  validDays: number;
  now?: Date;
}

export interface CertifyOptions {
  institutionId: string;
  validDays: number;
  now?: Date;
}

/**
 * The consortium's certificate authority: a self-signed X.509 root (node-forge, RSA 2048,
 * SHA-256) that certifies the institutions' own keys from their CSRs, and revokes them with a
 * signed revocation list. It never sees an institution's private key.
 */
export class ConsortiumAuthority {
  readonly consortiumName: string;
  readonly certificatePem: string;
  readonly #certificate: forge.pki.Certificate;
  readonly #key: forge.pki.rsa.PrivateKey;
  readonly #issued = new Map<string, IssuedCertificate>();
  #revocationList: RevocationList;

  private constructor(
    certificate: forge.pki.Certificate,
    key: forge.pki.rsa.PrivateKey,
    issued: readonly IssuedCertificate[],
    revocationList: RevocationList | undefined,
    now: Date,
  ) {
    this.#certificate = certificate;
    this.#key = key;
    this.certificatePem = forge.pki.certificateToPem(certificate);
    this.consortiumName = readNameField(certificate.subject, 'O') ?? '';
    for (const record of issued) this.#issued.set(record.serial, { ...record });
    this.#revocationList = revocationList ?? signRevocationList(this.consortiumName, now, [], key);
  }

  /** A new root. Key generation goes through forge's native (OpenSSL) path: 90-580 ms here. */
  static create({
    consortiumName,
    validDays,
    now = new Date(),
  }: CreateAuthorityOptions): ConsortiumAuthority {
    const problem = nameProblem(consortiumName);
    if (problem) throw new RangeError(`consortium name: ${problem}`);
    const keys = generateRsaKeyPair();
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = randomSerialHex();
    const { notBefore, notAfter } = validityWindow(now, validDays);
    cert.validity.notBefore = notBefore;
    cert.validity.notAfter = notAfter;
    cert.setSubject(consortiumRootName(consortiumName));
    cert.setIssuer(consortiumRootName(consortiumName));
    cert.setExtensions(rootExtensions());
    cert.sign(keys.privateKey, forge.md.sha256.create());
    // Continue with the certificate as any verifier will read it (forge keeps freshly set names as
    // JavaScript strings but parsed UTF8String names as UTF-8 bytes).
    const parsed = forge.pki.certificateFromPem(forge.pki.certificateToPem(cert));
    return new ConsortiumAuthority(parsed, keys.privateKey, [], undefined, now);
  }

  /** Restores an exported authority. Refuses a wrong passphrase or a key that does not match the root. */
  static import(exported: ExportedAuthority, passphrase: string): ConsortiumAuthority {
    if (exported?.format !== AUTHORITY_EXPORT_FORMAT)
      throw new Error(`not a ${AUTHORITY_EXPORT_FORMAT} document`);
    const cert = forge.pki.certificateFromPem(exported.certificatePem);
    const rootProblem = rootProfileProblem(cert);
    if (rootProblem) throw new Error(`the exported root certificate is unusable: ${rootProblem}`);
    const key = decryptPrivateKey(exported.encryptedPrivateKeyPem, passphrase);
    if (
      !sameRsaPublicKey(forge.pki.setRsaPublicKey(key.n, key.e), cert.publicKey as forge.pki.rsa.PublicKey)
    ) {
      throw new Error('the exported private key does not belong to the exported root certificate');
    }
    const name = readNameField(cert.subject, 'O') ?? '';
    const list = verifyRevocationList(exported.revocationList, cert, name);
    return new ConsortiumAuthority(cert, key, exported.issued, list, new Date(list.issuedAt));
  }

  /** The root and its encrypted key, plus the issuance records and the current revocation list. */
  export(
    passphrase: string,
    { iterations = DEFAULT_KEY_ITERATIONS }: { iterations?: number } = {},
  ): ExportedAuthority {
    return {
      format: AUTHORITY_EXPORT_FORMAT,
      certificatePem: this.certificatePem,
      encryptedPrivateKeyPem: encryptPrivateKey(this.#key, passphrase, iterations),
      issued: this.issued(),
      revocationList: this.revocationList(),
    };
  }

  /**
   * Issues an institution certificate for a CSR: the CSR's self-signature must verify (proof that
   * the requester holds the private key), its subject CN must be `institutionId`, and its key must
   * be RSA of at least 2048 bits. Returns the certificate PEM.
   */
  certify(csrPem: string, { institutionId, validDays, now = new Date() }: CertifyOptions): string {
    const idProblem = institutionIdProblem(institutionId);
    if (idProblem) throw new CertificationRefused(idProblem);
    let csr: forge.pki.CertificateSigningRequest;
    try {
      csr = forge.pki.certificationRequestFromPem(csrPem);
    } catch (e) {
      throw new CertificationRefused(`cannot read the CSR for ${institutionId}: ${(e as Error).message}`);
    }
    let selfSigned = false;
    try {
      selfSigned = csr.verify();
    } catch {
      selfSigned = false;
    }
    if (!selfSigned) {
      throw new CertificationRefused(
        `the CSR for ${institutionId} is not signed by the key it carries (altered?)`,
      );
    }
    const cn = readNameField(csr.subject, 'CN');
    if (cn !== institutionId) {
      throw new CertificationRefused(
        `the CSR names "${cn ?? '(no CN)'}", not institution "${institutionId}"`,
      );
    }
    const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
    if (!publicKey?.n || publicKey.n.bitLength() < MIN_RSA_BITS) {
      throw new CertificationRefused(
        `the CSR for ${institutionId} carries an RSA key shorter than ${MIN_RSA_BITS} bits`,
      );
    }
    const { notBefore, notAfter } = validityWindow(now, validDays);
    const rootProblem = validityProblem(this.#certificate, notBefore);
    if (rootProblem) throw new CertificationRefused(`the consortium root ${rootProblem}`);
    if (notAfter > this.#certificate.validity.notAfter) {
      throw new CertificationRefused(
        `a certificate valid until ${notAfter.toISOString()} would outlive the consortium root ` +
          `(valid until ${this.#certificate.validity.notAfter.toISOString()})`,
      );
    }

    let serial = randomSerialHex();
    while (this.#issued.has(serial)) serial = randomSerialHex();
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    cert.serialNumber = serial;
    cert.validity.notBefore = notBefore;
    cert.validity.notAfter = notAfter;
    cert.setSubject(institutionName(institutionId, this.consortiumName));
    cert.setIssuer(consortiumRootName(this.consortiumName));
    cert.setExtensions(leafExtensions(this.#certificate));
    cert.sign(this.#key, forge.md.sha256.create());

    this.#issued.set(serial, {
      serial,
      institutionId,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
    });
    return forge.pki.certificateToPem(cert);
  }

  /**
   * Revokes one certificate (by serial) or every certificate of an institution (by its id) and
   * returns the new signed revocation list; distribute it to every `ConsortiumTrust`. Each new
   * list's issuedAt is later than the previous one's, even within one millisecond, so verifiers
   * can refuse a stale list. Revoked serials stay on the list.
   */
  revoke(institutionIdOrSerial: string, { now = new Date() }: { now?: Date } = {}): RevocationList {
    const key = institutionIdOrSerial;
    const serials = this.#issued.has(key.toLowerCase())
      ? [key.toLowerCase()]
      : [...this.#issued.values()].filter((c) => c.institutionId === key).map((c) => c.serial);
    if (serials.length === 0) {
      throw new RangeError(`no certificate was issued to institution "${key}" or with serial "${key}"`);
    }
    const revoked = new Set(this.#revocationList.serials);
    if (serials.every((s) => revoked.has(s))) return this.revocationList();
    for (const s of serials) revoked.add(s);
    const previous = new Date(this.#revocationList.issuedAt).getTime();
    const issuedAt = new Date(Math.max(now.getTime(), previous + 1));
    this.#revocationList = signRevocationList(this.consortiumName, issuedAt, revoked, this.#key);
    return this.revocationList();
  }

  /** The current signed revocation list (a copy). */
  revocationList(): RevocationList {
    return { ...this.#revocationList, serials: [...this.#revocationList.serials] };
  }

  /** Every certificate issued so far (copies). */
  issued(): IssuedCertificate[] {
    return [...this.#issued.values()].map((c) => ({ ...c }));
  }
}
