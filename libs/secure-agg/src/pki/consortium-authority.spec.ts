import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConsortiumAuthority } from './consortium-authority';
import { CertificationRefused, RevocationListRejected } from './errors';
import { InstitutionIdentity } from './institution-identity';
import { readNameField } from './names';
import { verifyRevocationList } from './revocation-list';
import { T0, at } from './test-support';

interface Ext {
  critical?: boolean;
  cA?: boolean;
  pathLenConstraint?: number;
  keyCertSign?: boolean;
  cRLSign?: boolean;
  digitalSignature?: boolean;
  clientAuth?: boolean;
}
const ext = (cert: forge.pki.Certificate, name: string) => cert.getExtension(name) as Ext | undefined;

describe(ConsortiumAuthority.name, () => {
  let ca: ConsortiumAuthority;
  let root: forge.pki.Certificate;
  let hospital: InstitutionIdentity;

  beforeAll(() => {
    const started = performance.now();
    ca = ConsortiumAuthority.create({
      consortiumName: 'scPrivacy test consortium',
      validDays: 3650,
      now: at(-1),
    });
    const ms = performance.now() - started;
    console.log(`ConsortiumAuthority.create (RSA 2048 via forge's native path): ${ms.toFixed(0)} ms`);
    // 90-580 ms measured (keys.spec.ts checks the native path is the one used); loose for busy CI.
    expect(ms).toBeLessThan(3000);
    root = forge.pki.certificateFromPem(ca.certificatePem);
    hospital = InstitutionIdentity.generate('hospital-a');
  });

  describe('create', () => {
    it('should make a self-signed CA root for the consortium', () => {
      expect(root.verify(root)).toBe(true);
      expect(readNameField(root.subject, 'O')).toBe('scPrivacy test consortium');
      expect(readNameField(root.issuer, 'CN')).toBe('scPrivacy test consortium');
      expect(ext(root, 'basicConstraints')).toMatchObject({ critical: true, cA: true, pathLenConstraint: 0 });
      expect(ext(root, 'keyUsage')).toMatchObject({ critical: true, keyCertSign: true, cRLSign: true });
      expect(root.validity.notBefore).toEqual(at(-1));
      expect(root.validity.notAfter).toEqual(at(3649));
    });

    it('should start with an empty signed revocation list', () => {
      const list = verifyRevocationList(ca.revocationList(), root, ca.consortiumName);
      expect(list.serials).toEqual([]);
    });

    it('should refuse an unusable consortium name', () => {
      expect(() => ConsortiumAuthority.create({ consortiumName: '', validDays: 1 })).toThrow(
        /consortium name/,
      );
    });
  });

  describe('certify', () => {
    it('should issue a leaf certificate for the CSR that chains to the root', () => {
      const pem = ca.certify(hospital.createCsr(), { institutionId: 'hospital-a', validDays: 365, now: T0 });
      const cert = forge.pki.certificateFromPem(pem);

      expect(readNameField(cert.subject, 'CN')).toBe('hospital-a');
      expect(readNameField(cert.subject, 'O')).toBe('scPrivacy test consortium');
      expect(cert.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
      expect(cert.validity.notBefore).toEqual(T0);
      expect(cert.validity.notAfter).toEqual(at(365));
      expect(ext(cert, 'basicConstraints')).toMatchObject({ critical: true, cA: false });
      expect(ext(cert, 'keyUsage')).toMatchObject({ critical: true, digitalSignature: true });
      expect(ext(cert, 'extKeyUsage')).toMatchObject({ clientAuth: true });
      const store = forge.pki.createCaStore([ca.certificatePem]);
      expect(forge.pki.verifyCertificateChain(store, [cert], { validityCheckDate: at(1) })).toBe(true);
      // An independent implementation (Node's X509Certificate, OpenSSL) agrees.
      const leaf = new X509Certificate(pem);
      const anchor = new X509Certificate(ca.certificatePem);
      expect(leaf.checkIssued(anchor)).toBe(true);
      expect(leaf.verify(anchor.publicKey)).toBe(true);
      expect(ca.issued()).toContainEqual(
        expect.objectContaining({ serial: cert.serialNumber, institutionId: 'hospital-a' }),
      );
    });

    it('should give every certificate a different serial', () => {
      const csr = hospital.createCsr();
      const serials = [1, 2, 3].map(
        () =>
          forge.pki.certificateFromPem(
            ca.certify(csr, { institutionId: 'hospital-a', validDays: 30, now: T0 }),
          ).serialNumber,
      );
      expect(new Set(serials).size).toBe(3);
    });

    it('should refuse a CSR whose CN is not the institution id', () => {
      expect(() =>
        ca.certify(hospital.createCsr(), { institutionId: 'hospital-b', validDays: 365, now: T0 }),
      ).toThrow(CertificationRefused);
      expect(() =>
        ca.certify(hospital.createCsr(), { institutionId: 'hospital-b', validDays: 365, now: T0 }),
      ).toThrow(/names "hospital-a", not institution "hospital-b"/);
    });

    it('should refuse a CSR whose self-signature does not verify', () => {
      // Someone swaps the subject of hospital-a's CSR without its private key.
      const csr = forge.pki.certificationRequestFromPem(hospital.createCsr());
      csr.setSubject([{ name: 'commonName', value: 'hospital-b' }]);
      csr.certificationRequestInfo = null; // make forge re-encode the altered subject
      const altered = forge.pki.certificationRequestToPem(csr);
      expect(() => ca.certify(altered, { institutionId: 'hospital-b', validDays: 365, now: T0 })).toThrow(
        /not signed by the key it carries/,
      );
    });

    it('should refuse a certificate that would outlive the root', () => {
      expect(() =>
        ca.certify(hospital.createCsr(), { institutionId: 'hospital-a', validDays: 10_000, now: T0 }),
      ).toThrow(/outlive the consortium root/);
    });

    it('should refuse "*" as an institution id and garbage as a CSR', () => {
      expect(() => ca.certify('x', { institutionId: '*', validDays: 1, now: T0 })).toThrow(/"\*"/);
      expect(() => ca.certify('not a csr', { institutionId: 'hospital-a', validDays: 1, now: T0 })).toThrow(
        /cannot read the CSR/,
      );
    });

    it('should keep non-ASCII names intact along the chain', () => {
      const zurich = ConsortiumAuthority.create({
        consortiumName: 'Konsortium Zürich',
        validDays: 30,
        now: T0,
      });
      const clinic = InstitutionIdentity.generate('klinik-größe_1');
      const pem = zurich.certify(clinic.createCsr(), {
        institutionId: 'klinik-größe_1',
        validDays: 10,
        now: T0,
      });
      const cert = forge.pki.certificateFromPem(pem);
      expect(readNameField(cert.subject, 'CN')).toBe('klinik-größe_1');
      expect(readNameField(cert.issuer, 'O')).toBe('Konsortium Zürich');
      const store = forge.pki.createCaStore([zurich.certificatePem]);
      expect(forge.pki.verifyCertificateChain(store, [cert], { validityCheckDate: at(1) })).toBe(true);
    });
  });

  describe('revoke', () => {
    it('should revoke every certificate of an institution, or one by serial, in a newer signed list', () => {
      const sut = ConsortiumAuthority.create({
        consortiumName: 'revoking consortium',
        validDays: 30,
        now: T0,
      });
      const csr = hospital.createCsr();
      const first = forge.pki.certificateFromPem(
        sut.certify(csr, { institutionId: 'hospital-a', validDays: 5, now: T0 }),
      );
      const second = forge.pki.certificateFromPem(
        sut.certify(csr, { institutionId: 'hospital-a', validDays: 5, now: T0 }),
      );
      const before = sut.revocationList();

      const bySerial = sut.revoke(first.serialNumber, { now: T0 });
      expect(bySerial.serials).toEqual([first.serialNumber]);
      const byInstitution = sut.revoke('hospital-a', { now: T0 });
      expect(byInstitution.serials).toEqual([first.serialNumber, second.serialNumber].sort());

      const sutRoot = forge.pki.certificateFromPem(sut.certificatePem);
      for (const list of [bySerial, byInstitution]) {
        expect(verifyRevocationList(JSON.parse(JSON.stringify(list)), sutRoot, sut.consortiumName)).toEqual(
          list,
        );
      }
      // Same `now` three times, yet every list is strictly newer than the one before.
      expect(Date.parse(bySerial.issuedAt)).toBeGreaterThan(Date.parse(before.issuedAt));
      expect(Date.parse(byInstitution.issuedAt)).toBeGreaterThan(Date.parse(bySerial.issuedAt));
      // Nothing new to revoke: the list stays as it is.
      expect(sut.revoke('hospital-a')).toEqual(byInstitution);
    });

    it('should refuse to revoke what it never issued', () => {
      expect(() => ca.revoke('no-such-hospital')).toThrow(/no certificate was issued/);
    });
  });

  describe('export / import', () => {
    it('should restore an authority that can go on certifying and revoking', () => {
      const sut = ConsortiumAuthority.create({
        consortiumName: 'exported consortium',
        validDays: 30,
        now: T0,
      });
      sut.certify(hospital.createCsr(), { institutionId: 'hospital-a', validDays: 5, now: T0 });
      sut.revoke('hospital-a', { now: T0 });
      const exported = JSON.parse(JSON.stringify(sut.export('correct horse battery staple')));
      expect(exported.encryptedPrivateKeyPem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);

      const restored = ConsortiumAuthority.import(exported, 'correct horse battery staple');
      expect(restored.certificatePem).toBe(sut.certificatePem);
      expect(restored.revocationList()).toEqual(sut.revocationList());
      const pem = restored.certify(hospital.createCsr(), {
        institutionId: 'hospital-a',
        validDays: 5,
        now: T0,
      });
      const store = forge.pki.createCaStore([sut.certificatePem]);
      expect(
        forge.pki.verifyCertificateChain(store, [forge.pki.certificateFromPem(pem)], {
          validityCheckDate: at(1),
        }),
      ).toBe(true);
      expect(restored.revoke('hospital-a', { now: T0 }).serials).toHaveLength(2);
    });

    it('should refuse a wrong passphrase, a foreign key and an altered revocation list', () => {
      const exported = ca.export('correct horse battery staple', { iterations: 10_000 });
      expect(() => ConsortiumAuthority.import(exported, 'wrong passphrase')).toThrow(/wrong passphrase/);

      const other = ConsortiumAuthority.create({
        consortiumName: 'scPrivacy test consortium',
        validDays: 30,
      });
      const foreignKey = other.export('correct horse battery staple', {
        iterations: 10_000,
      }).encryptedPrivateKeyPem;
      expect(() =>
        ConsortiumAuthority.import(
          { ...exported, encryptedPrivateKeyPem: foreignKey },
          'correct horse battery staple',
        ),
      ).toThrow(/does not belong/);

      const forged = { ...exported.revocationList, serials: ['4a'] };
      expect(() =>
        ConsortiumAuthority.import({ ...exported, revocationList: forged }, 'correct horse battery staple'),
      ).toThrow(RevocationListRejected);
    });
  });
});
