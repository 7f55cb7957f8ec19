/**
 * Consortium identity for secure aggregation: an X.509 root, institution certificates from
 * CSRs, a signed revocation list (node-forge), and signed, bound protocol envelopes (Node crypto).
 * See docs/security-identity.md.
 */
export * from './consortium-authority';
export * from './institution-identity';
export * from './consortium-trust';
export * from './errors';
export {
  REVOCATION_LIST_FORMAT,
  signRevocationList,
  verifyRevocationList,
  type RevocationList,
} from './revocation-list';
export {
  ENVELOPE_ENCODING_TAG,
  PHASES,
  bindingProblem,
  encodeEnvelope,
  payloadDigest,
} from './canonical-encoding';
export { envelopeSignatureValid, signEnvelope } from './envelope-signature';
export { institutionIdProblem } from './names';
