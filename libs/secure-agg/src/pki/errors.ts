import { EnvelopeRejected } from '../envelope';

/**
 * An institution certificate the consortium trust refuses to register. It extends
 * `EnvelopeRejected` because it refuses the same things for the same reasons: code that catches
 * envelope rejections also catches a sender whose certificate cannot be trusted.
 */
export class CertificateRejected extends EnvelopeRejected {
  constructor(
    message: string,
    override readonly reason: 'bad-chain' | 'expired' | 'revoked',
  ) {
    super(message, reason);
    this.name = 'CertificateRejected';
  }
}

/** The consortium authority refuses to issue a certificate for a CSR. */
export class CertificationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificationRefused';
  }
}

/** A revocation list that is not signed by the consortium root, malformed, or older than the current one. */
export class RevocationListRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RevocationListRejected';
  }
}
