import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import type { EnvelopeSigner } from '../envelope';
import { signEnvelope } from './envelope-signature';
import {
  DEFAULT_KEY_ITERATIONS,
  decryptPrivateKey,
  encryptPrivateKey,
  generateRsaKeyPair,
  sameRsaPublicKey,
  toNodePrivateKey,
} from './keys';
import { institutionIdProblem, readNameField } from './names';

export const IDENTITY_EXPORT_FORMAT = 'scprivacy-institution-identity/v1';

/** An identity saved for the institution's own restart; the key is encrypted under its passphrase. */
export interface ExportedIdentity {
  format: typeof IDENTITY_EXPORT_FORMAT;
  institutionId: string;
  encryptedPrivateKeyPem: string;
  certificatePem?: string;
}

/**
 * One institution's signing identity. It makes its own RSA key pair, asks the consortium for a
 * certificate with a CSR (which carries only the public key), installs the certificate it gets
 * back and signs its protocol messages. The private key sits in private fields: no method returns
 * it, and `export` writes it only encrypted, for the institution's own storage.
 */
export class InstitutionIdentity {
  readonly institutionId: string;
  readonly #forgeKey: forge.pki.rsa.PrivateKey;
  readonly #publicKey: forge.pki.rsa.PublicKey;
  /** The same key for Node's crypto, which makes the envelope signatures (~100x faster than forge). */
  readonly #nodeKey: KeyObject;
  #certificatePem: string | undefined;

  private constructor(institutionId: string, key: forge.pki.rsa.PrivateKey) {
    const problem = institutionIdProblem(institutionId);
    if (problem) throw new RangeError(problem);
    this.institutionId = institutionId;
    this.#forgeKey = key;
    this.#publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    this.#nodeKey = toNodePrivateKey(key);
  }

  /** A fresh key pair (forge's native RSA-2048 path: a few hundred ms). */
  static generate(institutionId: string): InstitutionIdentity {
    const problem = institutionIdProblem(institutionId);
    if (problem) throw new RangeError(problem); // before spending a key generation on it
    return new InstitutionIdentity(institutionId, generateRsaKeyPair().privateKey);
  }

  /** Restores an identity saved with `export`. */
  static import(exported: ExportedIdentity, passphrase: string): InstitutionIdentity {
    if (exported?.format !== IDENTITY_EXPORT_FORMAT)
      throw new Error(`not a ${IDENTITY_EXPORT_FORMAT} document`);
    const identity = new InstitutionIdentity(
      exported.institutionId,
      decryptPrivateKey(exported.encryptedPrivateKeyPem, passphrase),
    );
    if (exported.certificatePem) identity.installCertificate(exported.certificatePem);
    return identity;
  }

  export(
    passphrase: string,
    { iterations = DEFAULT_KEY_ITERATIONS }: { iterations?: number } = {},
  ): ExportedIdentity {
    return {
      format: IDENTITY_EXPORT_FORMAT,
      institutionId: this.institutionId,
      encryptedPrivateKeyPem: encryptPrivateKey(this.#forgeKey, passphrase, iterations),
      ...(this.#certificatePem ? { certificatePem: this.#certificatePem } : {}),
    };
  }

  /** A PKCS#10 certificate signing request: subject CN = institution id, signed with SHA-256 by the own key. */
  createCsr(): string {
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = this.#publicKey;
    csr.setSubject([
      { name: 'commonName', value: this.institutionId, valueTagClass: forge.asn1.Type.UTF8 as number },
    ]);
    csr.sign(this.#forgeKey, forge.md.sha256.create());
    return forge.pki.certificationRequestToPem(csr);
  }

  /**
   * Installs the certificate the consortium issued. Refuses one for another institution or another
   * key (a mix-up would otherwise surface only as every message being refused). The chain to the
   * consortium root is each verifier's business (`ConsortiumTrust`).
   */
  installCertificate(certificatePem: string): void {
    const cert = forge.pki.certificateFromPem(certificatePem);
    const cn = readNameField(cert.subject, 'CN');
    if (cn !== this.institutionId) {
      throw new Error(`the certificate is for "${cn ?? '(no CN)'}", not for ${this.institutionId}`);
    }
    if (!sameRsaPublicKey(cert.publicKey as forge.pki.rsa.PublicKey, this.#publicKey)) {
      throw new Error(`the certificate for ${this.institutionId} certifies another key`);
    }
    this.#certificatePem = forge.pki.certificateToPem(cert);
  }

  /** The installed certificate (PEM), to publish to the other parties; undefined before installation. */
  get certificatePem(): string | undefined {
    return this.#certificatePem;
  }

  /**
   * Signs envelopes as this institution. Requires an installed certificate: without one, no verifier
   * could accept the signatures.
   */
  signer(): EnvelopeSigner {
    if (!this.#certificatePem) {
      throw new Error(
        `${this.institutionId} has no certificate yet: send createCsr() to the consortium first`,
      );
    }
    const party = this.institutionId;
    const key = this.#nodeKey;
    return {
      party,
      sign: (binding, payload) => signEnvelope({ ...binding, sender: party }, payload, key),
    };
  }
}
