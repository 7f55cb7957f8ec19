/**
 * @fl/secure-agg: the cryptography of the federation, in one place.
 * - envelope: signed, bound protocol messages (interfaces)
 * - pki: consortium X.509 root, institution certificates, revocation, envelope signatures
 */
export * from './envelope';
export * from './pki';
