import { X509Certificate } from 'node:crypto';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** OpenSSL's notAfter text, e.g. "Mar  5 07:08:09 2027 GMT" (Node 20 has no validToDate). */
const OPENSSL_TIME = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4,}) GMT$/;

/**
 * The notAfter of a PEM certificate, or null without one. Parsed field by field rather than by
 * `new Date(text)`, whose reading of non-ISO text is up to the JavaScript engine.
 */
export function certificateNotAfter(certificatePem: string | null | undefined): Date | null {
  if (!certificatePem) return null;
  let validTo: string;
  try {
    validTo = new X509Certificate(certificatePem).validTo;
  } catch {
    return null; // not a certificate Node can read: the api signed it, so this is not expected
  }
  const m = OPENSSL_TIME.exec(validTo);
  const month = m ? MONTHS.indexOf(m[1]) : -1;
  if (!m || month < 0) return null;
  const [day, hours, minutes, seconds, year] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  return new Date(Date.UTC(year, month, day, hours, minutes, seconds));
}
