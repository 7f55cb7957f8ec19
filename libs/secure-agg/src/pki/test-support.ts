/** Shared set-up for the pki specs (not exported from the library). */
import type { ConsortiumAuthority } from './consortium-authority';
import { InstitutionIdentity } from './institution-identity';

export const DAY_MS = 86_400_000;
/** A fixed "now" so validity windows in the specs do not depend on the day they run. */
export const T0 = new Date('2025-03-01T12:00:00.000Z');
export const at = (days: number) => new Date(T0.getTime() + days * DAY_MS);

/** An institution that made its key pair and CSR and installed the certificate `ca` issued for it. */
export function certifiedIdentity(
  ca: ConsortiumAuthority,
  institutionId: string,
  { validDays = 365, now = T0 }: { validDays?: number; now?: Date } = {},
): InstitutionIdentity {
  const identity = InstitutionIdentity.generate(institutionId);
  identity.installCertificate(ca.certify(identity.createCsr(), { institutionId, validDays, now }));
  return identity;
}

/** A copy of `bytes` with one bit flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[bit >> 3] ^= 1 << (bit & 7);
  return copy;
}
