/**
 * @fl/secure-agg: the cryptography of the federation, in one place.
 * - envelope: signed, bound protocol messages (interfaces)
 * - pki: consortium X.509 root, institution certificates, revocation, envelope signatures
 * - secagg: fixed-point encoding, pairwise and self masks, Shamir shares, the round protocol
 */
export * from './envelope';
export * from './pki';
export * from './secagg';
