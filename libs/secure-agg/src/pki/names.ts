import forge from 'node-forge';
import { hasLoneSurrogate } from './length-prefixed';

/** X.509's upper bound for a CommonName or OrganizationName (RFC 5280, ub-common-name). */
export const MAX_NAME_LENGTH = 64;

/**
 * Why `id` cannot name an institution, or undefined when it can. The certificate CN is the
 * institution's party name in every envelope, so it obeys the envelope's rules too.
 */
export function institutionIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return 'an institution id must be a non-empty string';
  if (id === '*') return 'an institution cannot be called "*": envelopes use it for "everyone"';
  return nameProblem(id);
}

export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a name must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `"${name}" is longer than ${MAX_NAME_LENGTH} characters`;
  if (hasLoneSurrogate(name)) return `${JSON.stringify(name)} is not valid Unicode`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return `${JSON.stringify(name)} contains control characters`;
  return undefined;
}

/**
 * A distinguished-name attribute stored as UTF8String. forge writes PrintableString by default,
 * which cannot hold "_", "@" or any non-ASCII letter; UTF8String holds any name.
 */
function utf8Attribute(name: 'commonName' | 'organizationName' | 'organizationalUnitName', value: string) {
  return { name, value, valueTagClass: forge.asn1.Type.UTF8 as number };
}

/** Subject (and, in every leaf, issuer) of the consortium root. Built the same way each time so the DER matches. */
export function consortiumRootName(consortiumName: string) {
  return [
    utf8Attribute('organizationName', consortiumName),
    utf8Attribute('organizationalUnitName', 'Consortium certificate authority'),
    utf8Attribute('commonName', consortiumName),
  ];
}

export function institutionName(institutionId: string, consortiumName: string) {
  return [utf8Attribute('organizationName', consortiumName), utf8Attribute('commonName', institutionId)];
}

interface NameLike {
  getField(sn: string): unknown;
}

/**
 * One attribute of a parsed subject or issuer, as a JavaScript string. forge returns UTF8String
 * values as undecoded UTF-8 bytes, so they are decoded here.
 */
export function readNameField(name: NameLike, shortName: 'CN' | 'O'): string | undefined {
  const field = name.getField(shortName) as { value?: unknown; valueTagClass?: number } | null;
  if (!field || typeof field.value !== 'string') return undefined;
  if (field.valueTagClass !== forge.asn1.Type.UTF8) return field.value;
  try {
    return forge.util.decodeUtf8(field.value);
  } catch {
    return undefined;
  }
}
