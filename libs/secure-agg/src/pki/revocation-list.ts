import forge from 'node-forge';
import { RevocationListRejected } from './errors';
import { LengthPrefixedWriter } from './length-prefixed';

/**
 * The consortium's signed list of revoked certificate serials.
 *
 * Not an X.509 CRL: node-forge can neither build nor parse CRLs (it has no CRL support at all),
 * and the consortium only needs "which serials are revoked, as of when, says the root". So the
 * list is a JSON document (easy to publish, store and diff) whose signature covers a canonical,
 * length-prefixed encoding of its fields (never the JSON text, whose spelling is not unique).
 * The root key signs it with forge (RSASSA-PKCS1-v1_5, SHA-256): one signature per revocation,
 * so speed does not matter, and it stays in the PKI family of the certificates it speaks about.
 */
export const REVOCATION_LIST_FORMAT = 'scprivacy-revocation-list/v1';

export interface RevocationList {
  format: typeof REVOCATION_LIST_FORMAT;
  /** The consortium name (the root's O and CN). */
  issuer: string;
  /** ISO 8601 with milliseconds; strictly increases from one list to the next. */
  issuedAt: string;
  /** Revoked serial numbers, lowercase hex, sorted. */
  serials: string[];
  /** Base64 RSASSA-PKCS1-v1_5 / SHA-256 signature by the consortium root key. */
  signature: string;
}

const SIGNED_TAG = 'scprivacy/secure-agg/revocation-list/v1';
const SERIAL = /^[0-9a-f]{2,40}$/;

function signedBytes(issuer: string, issuedAt: string, serials: readonly string[]): string {
  const writer = new LengthPrefixedWriter()
    .text(SIGNED_TAG)
    .text(issuer)
    .text(issuedAt)
    .uint64(serials.length);
  for (const serial of serials) writer.text(serial);
  // forge digests "binary strings" (one char per byte).
  return writer.finish().toString('binary');
}

function sha256(bytes: string): forge.md.MessageDigest {
  return forge.md.sha256.create().update(bytes);
}

/** Signs a list with the root key. `serials` are normalised (lowercase, unique, sorted). */
export function signRevocationList(
  issuer: string,
  issuedAt: Date,
  serials: Iterable<string>,
  rootKey: forge.pki.rsa.PrivateKey,
): RevocationList {
  const sorted = [...new Set([...serials].map((s) => s.toLowerCase()))].sort();
  const at = issuedAt.toISOString();
  const signature = forge.util.encode64(rootKey.sign(sha256(signedBytes(issuer, at, sorted))));
  return { format: REVOCATION_LIST_FORMAT, issuer, issuedAt: at, serials: sorted, signature };
}

/**
 * Checks a list (e.g. freshly parsed from JSON) against the root certificate and returns a clean
 * copy. Throws RevocationListRejected for a malformed list or one the root did not sign.
 */
export function verifyRevocationList(
  list: unknown,
  root: forge.pki.Certificate,
  issuer: string,
): RevocationList {
  const l = list as Partial<RevocationList> | null;
  if (
    typeof l !== 'object' ||
    l === null ||
    l.format !== REVOCATION_LIST_FORMAT ||
    typeof l.issuer !== 'string' ||
    typeof l.issuedAt !== 'string' ||
    typeof l.signature !== 'string' ||
    !Array.isArray(l.serials) ||
    !l.serials.every((s) => typeof s === 'string' && SERIAL.test(s))
  ) {
    throw new RevocationListRejected(`not a ${REVOCATION_LIST_FORMAT} document`);
  }
  const at = new Date(l.issuedAt);
  if (Number.isNaN(at.getTime()) || at.toISOString() !== l.issuedAt) {
    throw new RevocationListRejected(`revocation list issuedAt "${l.issuedAt}" is not an ISO 8601 time`);
  }
  if (l.issuer !== issuer) {
    throw new RevocationListRejected(
      `revocation list is issued by "${l.issuer}", not by consortium "${issuer}"`,
    );
  }
  let valid = false;
  try {
    const digest = sha256(signedBytes(l.issuer, l.issuedAt, l.serials))
      .digest()
      .bytes();
    valid = (root.publicKey as forge.pki.rsa.PublicKey).verify(digest, forge.util.decode64(l.signature));
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new RevocationListRejected(
      `revocation list of ${l.issuedAt} is not signed by the root of consortium "${issuer}" (or was altered)`,
    );
  }
  return {
    format: REVOCATION_LIST_FORMAT,
    issuer: l.issuer,
    issuedAt: l.issuedAt,
    serials: [...l.serials],
    signature: l.signature,
  };
}
