/**
 * Why a TLS connection failed, in words a site's operator can act on. A worker outside the
 * consortium's cluster reaches three servers over TLS (the API, the object store through its
 * presigned URLs, Redis over rediss://), often with certificates from the consortium's private
 * CA; Node's own messages ("fetch failed", "self-signed certificate in certificate chain") say
 * neither which server nor what to set. Shared by @fl/storage's transfers, @fl/queue's rediss://
 * connections and the worker's certificate client.
 */

/**
 * Every kind but 'handshake' is permanent: retrying the same connection gives the same failure
 * until someone changes a certificate or a setting. 'handshake' is any other TLS protocol error.
 */
export type TlsFailureKind =
  'untrusted' | 'expired' | 'wrong-name' | 'revoked' | 'not-tls' | 'client-certificate' | 'handshake';

export interface TlsFailure {
  kind: TlsFailureKind;
  /** Node's error code, e.g. SELF_SIGNED_CERT_IN_CHAIN. */
  code: string;
  /** Node's (OpenSSL's) one-line reason. */
  reason: string;
}

// Certificate verification results (OpenSSL's X509_V_ERR_* as Node names them).
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED',
]);
const EXPIRED = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
]);
const WRONG_NAME = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);
// The server's alerts when it wants a client certificate this client does not have.
const CLIENT_CERTIFICATE = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
]);

/** The TLS failure in `error` or its causes (fetch wraps it in "fetch failed"), if any. */
export function tlsFailure(error: unknown): TlsFailure | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    const kind: TlsFailureKind | undefined = UNTRUSTED.has(code)
      ? 'untrusted'
      : EXPIRED.has(code)
        ? 'expired'
        : WRONG_NAME.has(code)
          ? 'wrong-name'
          : code === 'CERT_REVOKED'
            ? 'revoked'
            : code === 'ERR_SSL_WRONG_VERSION_NUMBER'
              ? 'not-tls'
              : CLIENT_CERTIFICATE.has(code)
                ? 'client-certificate'
                : code.startsWith('ERR_SSL_')
                  ? 'handshake'
                  : undefined;
    if (kind) return { kind, code, reason: e.message.split('\n')[0] };
  }
  return undefined;
}

/**
 * `failure` explained: its reason, then what to do. `trustAdvice` is what makes the server's CA
 * trusted where the caller is configured (e.g. "set NODE_EXTRA_CA_CERTS to ...").
 */
export function explainTlsFailure(failure: TlsFailure, trustAdvice: string): string {
  switch (failure.kind) {
    case 'untrusted':
      return `${failure.reason}: ${trustAdvice}`;
    case 'expired':
      return `${failure.reason}: the server's certificate must be renewed (or this machine's clock is wrong)`;
    case 'wrong-name':
      return `${failure.reason}: connect with a host name the certificate was issued for`;
    case 'revoked':
      return `${failure.reason}: the server's certificate was revoked`;
    case 'not-tls':
      return `${failure.reason}: the server does not speak TLS on this port`;
    case 'client-certificate':
      return `${failure.reason}: the server asks for a client certificate, which sites do not present`;
    case 'handshake':
      return `TLS handshake failed (${failure.reason})`;
  }
}

/**
 * A one-line detail of a failed fetch: undici says only "fetch failed" and keeps the reason in
 * `cause`; a TLS failure is explained with `trustAdvice`.
 */
export function fetchFailureDetail(error: unknown, trustAdvice: string): string {
  const tls = tlsFailure(error);
  if (tls) return explainTlsFailure(tls, trustAdvice);
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  return cause && cause !== message ? `${message}: ${cause.split('\n')[0]}` : message;
}

/** What a worker sets to trust a private CA for HTTPS (the API, presigned object-store URLs). */
export const HTTPS_TRUST_ADVICE =
  "set NODE_EXTRA_CA_CERTS to the PEM file of the CA that signed the server's certificate";
