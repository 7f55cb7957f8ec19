import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import {
  EnvelopeRejected,
  type EnvelopeBinding,
  type EnvelopeVerifier,
  type Party,
  type SignedEnvelope,
} from '../envelope';
import { leafProfileProblem, rootProfileProblem, validityProblem } from './certificate-profile';
import { envelopeSignatureValid } from './envelope-signature';
import { CertificateRejected, RevocationListRejected } from './errors';
import { toNodePublicKey } from './keys';
import { institutionIdProblem, readNameField } from './names';
import { verifyRevocationList, type RevocationList } from './revocation-list';

export interface ConsortiumTrustOptions {
  /** The time certificates are checked against at each `verify` (default: the system clock). */
  clock?: () => Date;
}

type ExpectedBinding = Omit<EnvelopeBinding, 'sender'> & { sender?: Party };

interface Problem {
  message: string;
  reason: 'revoked' | 'expired';
}

interface RegisteredInstitution {
  institutionId: string;
  serial: string;
  certificate: forge.pki.Certificate;
  certificatePem: string;
  /** Node's form of the certified key: envelope signatures are checked by Node's crypto. */
  publicKey: KeyObject;
}

/** A party name from an untrusted envelope, safe to put in an error message. */
function show(name: unknown): string {
  if (typeof name !== 'string') return '(no sender)';
  return /^[\p{L}\p{N} ._@:/+-]{1,64}$/u.test(name) ? name : JSON.stringify(name.slice(0, 64));
}

const where = (b: Pick<EnvelopeBinding, 'federationId' | 'round' | 'phase'>) =>
  `federation ${show(b.federationId)} round ${b.round} phase ${show(b.phase)}`;

/**
 * One party's view of the consortium: the root certificate it trusts, the root's current
 * revocation list, and the certificates of the institutions it talks to. Verifies envelopes.
 *
 * Order of checks in `verify`, chosen so the error names the real problem:
 *   1. the sender has a registered certificate                     else 'unknown-sender'
 *   2. that certificate is not on the revocation list                else 'revoked'
 *   3. it and the root are valid at the clock's time                 else 'expired'
 *   4. the signature covers the envelope's own binding and payload   else 'tampered'
 *   5. that binding is the expected federation, round, phase, sender else 'replayed'
 *   6. and the expected recipient                                    else 'misdirected'
 * Checking the signature (4) before the binding (5, 6) separates an altered envelope (its bytes
 * no longer match the signature) from an intact one delivered where it does not belong.
 * Chains are checked once, at registration; time and revocation at every message.
 */
export class ConsortiumTrust implements EnvelopeVerifier {
  readonly consortiumName: string;
  readonly #root: forge.pki.Certificate;
  readonly #caStore: forge.pki.CAStore;
  readonly #clock: () => Date;
  readonly #directory = new Map<string, RegisteredInstitution>();
  readonly #seen = new Set<string>();
  #revocations: RevocationList;
  #revoked: Set<string>;

  /**
   * @param rootCertificatePem the consortium root, obtained out of band (it is the trust anchor)
   * @param revocationList the root's current signed revocation list; refused unless the root signed it
   */
  constructor(
    rootCertificatePem: string,
    revocationList: RevocationList,
    options: ConsortiumTrustOptions = {},
  ) {
    let root: forge.pki.Certificate;
    try {
      root = forge.pki.certificateFromPem(rootCertificatePem);
    } catch (e) {
      throw new CertificateRejected(
        `cannot read the consortium root certificate: ${(e as Error).message}`,
        'bad-chain',
      );
    }
    const problem = rootProfileProblem(root);
    if (problem)
      throw new CertificateRejected(`the consortium root certificate is unusable: ${problem}`, 'bad-chain');
    this.#root = root;
    this.#caStore = forge.pki.createCaStore([root]);
    this.consortiumName = readNameField(root.subject, 'O') ?? '';
    this.#clock = options.clock ?? (() => new Date());
    this.#revocations = verifyRevocationList(revocationList, root, this.consortiumName);
    this.#revoked = new Set(this.#revocations.serials);
  }

  /**
   * Adds (or replaces) an institution's certificate after checking that it chains to the root,
   * is an institution signing certificate, is not revoked, and is valid at `now`. Returns the
   * institution id (the certificate's CN), the `sender` its envelopes carry.
   */
  registerCertificate(certificatePem: string, { now = this.#clock() }: { now?: Date } = {}): string {
    let cert: forge.pki.Certificate;
    try {
      cert = forge.pki.certificateFromPem(certificatePem);
    } catch (e) {
      throw new CertificateRejected(`cannot read the certificate: ${(e as Error).message}`, 'bad-chain');
    }
    const id = readNameField(cert.subject, 'CN');
    const idProblem = institutionIdProblem(id);
    if (id === undefined || idProblem) {
      throw new CertificateRejected(`the certificate names no usable institution: ${idProblem}`, 'bad-chain');
    }
    const who = `the certificate of ${show(id)}`;
    let chained = false;
    let why = 'rejected';
    try {
      // Signature by the root (found by issuer name), CA constraints of the root. Times are
      // checked below with clearer messages, hence validityCheckDate: null.
      chained = forge.pki.verifyCertificateChain(this.#caStore, [cert], { validityCheckDate: null });
    } catch (e) {
      why = (e as { message?: string }).message ?? why;
    }
    if (!chained) {
      throw new CertificateRejected(
        `${who} does not chain to the root of consortium "${this.consortiumName}": ${why}`,
        'bad-chain',
      );
    }
    const profile = leafProfileProblem(cert);
    if (profile) throw new CertificateRejected(`${who} cannot sign envelopes: ${profile}`, 'bad-chain');
    const problem = this.#timeOrRevocationProblem(cert, now, who);
    if (problem) throw new CertificateRejected(problem.message, problem.reason);
    this.#directory.set(id, {
      institutionId: id,
      serial: cert.serialNumber,
      certificate: cert,
      certificatePem: forge.pki.certificateToPem(cert),
      publicKey: toNodePublicKey(cert.publicKey as forge.pki.rsa.PublicKey),
    });
    return id;
  }

  /** Registers a directory of certificates (all-or-nothing is not promised: stops at the first refusal). */
  registerCertificates(certificatePems: Iterable<string>, options: { now?: Date } = {}): string[] {
    return [...certificatePems].map((pem) => this.registerCertificate(pem, options));
  }

  /**
   * Swaps in a newer revocation list from the root. Refuses a list the root did not sign, and an
   * older one (a stale list must not un-revoke anyone); the same list again is a no-op.
   */
  updateRevocations(revocationList: RevocationList): void {
    const next = verifyRevocationList(revocationList, this.#root, this.consortiumName);
    const current = this.#revocations;
    const dt = Date.parse(next.issuedAt) - Date.parse(current.issuedAt);
    if (dt < 0) {
      throw new RevocationListRejected(
        `revocation list of ${next.issuedAt} is older than the current one (${current.issuedAt})`,
      );
    }
    if (dt === 0) {
      if (next.serials.join() === current.serials.join()) return;
      throw new RevocationListRejected(`two different revocation lists claim the same time ${next.issuedAt}`);
    }
    this.#revocations = next;
    this.#revoked = new Set(next.serials);
  }

  /** The revocation list in force (a copy). */
  revocationList(): RevocationList {
    return { ...this.#revocations, serials: [...this.#revocations.serials] };
  }

  /** Institutions with a registered certificate. */
  institutions(): string[] {
    return [...this.#directory.keys()];
  }

  certificateOf(institutionId: string): string | undefined {
    return this.#directory.get(institutionId)?.certificatePem;
  }

  verify(envelope: SignedEnvelope, expected: ExpectedBinding): Uint8Array {
    const now = this.#clock();
    const sender = typeof envelope?.sender === 'string' ? envelope.sender : undefined;
    const from = `message from ${show(sender)}`;
    if (
      sender === undefined ||
      !(envelope.payload instanceof Uint8Array) ||
      !(envelope.signature instanceof Uint8Array)
    ) {
      throw new EnvelopeRejected(
        `${from} is malformed: it needs a sender, a payload and a signature`,
        'tampered',
      );
    }
    const entry = this.#directory.get(sender);
    if (!entry) {
      throw new EnvelopeRejected(
        `${from} refused: no certificate is registered for ${show(sender)} (unknown sender)`,
        'unknown-sender',
      );
    }
    const problem = this.#timeOrRevocationProblem(
      entry.certificate,
      now,
      `${from} refused: the certificate of ${show(sender)}`,
    );
    if (problem) throw new EnvelopeRejected(problem.message, problem.reason);

    let valid: boolean;
    try {
      valid = envelopeSignatureValid(envelope, entry.publicKey);
    } catch (e) {
      throw new EnvelopeRejected(`${from} is malformed: ${(e as Error).message}`, 'tampered');
    }
    if (!valid) {
      throw new EnvelopeRejected(
        `${from} refused: the signature does not match ${show(sender)}'s certified key over this payload and ` +
          `binding (${where(envelope)} to ${show(envelope.recipient)}): altered in transit or forged`,
        'tampered',
      );
    }

    const moved: string[] = [];
    if (envelope.federationId !== expected.federationId)
      moved.push(`federation ${show(expected.federationId)}`);
    if (envelope.round !== expected.round) moved.push(`round ${expected.round}`);
    if (envelope.phase !== expected.phase) moved.push(`phase ${show(expected.phase)}`);
    if (moved.length > 0) {
      throw new EnvelopeRejected(
        `${from} for ${where(envelope)} replayed into ${moved.join(' ')}`,
        'replayed',
      );
    }
    if (expected.sender !== undefined && expected.sender !== sender) {
      throw new EnvelopeRejected(
        `${from} for ${where(envelope)} replayed in place of a message from ${show(expected.sender)}`,
        'replayed',
      );
    }
    if (envelope.recipient !== expected.recipient) {
      throw new EnvelopeRejected(
        `${from} for ${where(envelope)} is addressed to ${show(envelope.recipient)}, ` +
          `not to ${show(expected.recipient)}: misdirected`,
        'misdirected',
      );
    }
    this.#seen.add(seenKey(envelope));
    return envelope.payload;
  }

  /**
   * Whether an envelope with exactly this binding has been accepted. The protocol can use it to
   * refuse a second message for the same slot; `verify` itself does not (a retransmission of the
   * same message is harmless). Memory grows with accepted messages: `forgetSeen` when a
   * federation or round is over.
   */
  seen(binding: EnvelopeBinding): boolean {
    return this.#seen.has(seenKey(binding));
  }

  /** Forgets accepted bindings: of one federation (optionally only rounds before `beforeRound`), or all. */
  forgetSeen(federationId?: string, beforeRound?: number): void {
    if (federationId === undefined) {
      this.#seen.clear();
      return;
    }
    for (const key of this.#seen) {
      const [f, round] = JSON.parse(key) as [string, number];
      if (f === federationId && (beforeRound === undefined || round < beforeRound)) this.#seen.delete(key);
    }
  }

  /** Why `cert` cannot be relied on at `now` (revoked, expired, not yet valid, root expired), or undefined. */
  #timeOrRevocationProblem(cert: forge.pki.Certificate, now: Date, who: string): Problem | undefined {
    if (this.#revoked.has(cert.serialNumber)) {
      const message = `${who} (serial ${cert.serialNumber}) is revoked (revocation list of ${this.#revocations.issuedAt})`;
      return { message, reason: 'revoked' };
    }
    const leaf = validityProblem(cert, now);
    if (leaf) return { message: `${who} ${leaf} (checked at ${now.toISOString()})`, reason: 'expired' };
    const root = validityProblem(this.#root, now);
    if (root) {
      const message = `${who} cannot be trusted: the consortium root ${root} (checked at ${now.toISOString()})`;
      return { message, reason: 'expired' };
    }
    return undefined;
  }
}

function seenKey(b: EnvelopeBinding): string {
  return JSON.stringify([b.federationId, b.round, b.phase, b.sender, b.recipient]);
}
