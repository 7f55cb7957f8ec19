import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { certificateNotAfter } from './certificate-expiry';

function selfSigned(notAfter: Date): string {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date('2026-01-01T00:00:00Z');
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: 'commonName', value: 'clinic-a' }]);
  cert.setIssuer([{ name: 'commonName', value: 'clinic-a' }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

describe('certificateNotAfter', () => {
  it("reads the certificate's notAfter, single- and two-digit days alike", () => {
    for (const iso of ['2027-03-05T07:08:09.000Z', '2027-12-25T23:59:59.000Z']) {
      expect(certificateNotAfter(selfSigned(new Date(iso)))?.toISOString()).toBe(iso);
    }
  });

  it('is null without a certificate, or for text that is not one', () => {
    expect(certificateNotAfter(null)).toBeNull();
    expect(certificateNotAfter('')).toBeNull();
    expect(
      certificateNotAfter('-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n'),
    ).toBeNull();
  });
});
