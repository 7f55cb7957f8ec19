import {
  ConsortiumAuthority,
  ConsortiumTrust,
  InstitutionIdentity,
  institutionIdProblem,
  SecureAggregationSession,
  type EnvelopeSigner,
  type LaneBits,
  type SessionSetupOptions,
} from '@fl/secure-agg';
import type { InstitutionInfo } from './messages';

/** Institution ids must be certificate names; a file name that cannot be one gets a neutral id. */
export function institutionIds(institutions: readonly InstitutionInfo[]): string[] {
  const ids = institutions.map((inst) =>
    institutionIdProblem(inst.name) ? `institution-${inst.index}` : inst.name,
  );
  return new Set(ids).size === ids.length ? ids : institutions.map((inst) => `institution-${inst.index}`);
}

export interface EmbeddedSessionOptions {
  federationId: string;
  threshold?: number;
  clip: number;
  bits: LaneBits;
  allocateSum?: SessionSetupOptions['allocateSum'];
}

/**
 * A secure-aggregation session whose parties all live in this process (the embedded federation):
 * the consortium's root signs each institution's certificate request, each institution signs its
 * messages with its own key, and every message is verified against the consortium's trust store,
 * as in the distributed platform. `ids[i]` is institution i's id in the session.
 */
export async function embeddedSecureSession(
  institutions: readonly InstitutionInfo[],
  options: EmbeddedSessionOptions,
): Promise<{ session: SecureAggregationSession; ids: string[] }> {
  const ids = institutionIds(institutions);
  const authority = ConsortiumAuthority.create({
    consortiumName: 'scprivacy embedded consortium',
    validDays: 365,
  });
  const trust = new ConsortiumTrust(authority.certificatePem, authority.revocationList());
  const signers = new Map<string, EnvelopeSigner>();
  for (const id of ids) {
    const identity = InstitutionIdentity.generate(id); // its private key stays in this object
    identity.installCertificate(
      authority.certify(identity.createCsr(), { institutionId: id, validDays: 30 }),
    );
    trust.registerCertificate(identity.certificatePem!);
    signers.set(id, identity.signer());
  }
  const session = await SecureAggregationSession.setup({
    federationId: options.federationId,
    institutions: ids,
    threshold: options.threshold,
    clip: options.clip,
    bits: options.bits,
    // Every party lives in this process: the vector cannot change between signing and summing.
    vectorDigest: 'none',
    signers,
    verifier: trust,
    allocateSum: options.allocateSum,
  });
  return { session, ids };
}
