import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConsortiumAuthority } from './consortium-authority';
import { envelopeSignatureValid } from './envelope-signature';
import { InstitutionIdentity } from './institution-identity';
import { toNodePublicKey } from './keys';
import { readNameField } from './names';
import { T0, at } from './test-support';

const publicKeyOf = (pem: string) =>
  toNodePublicKey(forge.pki.certificateFromPem(pem).publicKey as forge.pki.rsa.PublicKey);

describe(InstitutionIdentity.name, () => {
  let ca: ConsortiumAuthority;
  let sut: InstitutionIdentity;

  beforeAll(() => {
    ca = ConsortiumAuthority.create({ consortiumName: 'identity consortium', validDays: 3650, now: at(-1) });
    sut = InstitutionIdentity.generate('hospital-a');
  });

  it('should make a CSR signed by its own key, naming the institution, carrying no private key', () => {
    const pem = sut.createCsr();
    const csr = forge.pki.certificationRequestFromPem(pem);
    expect(csr.verify()).toBe(true);
    expect(readNameField(csr.subject, 'CN')).toBe('hospital-a');
    expect(pem).not.toMatch(/PRIVATE/);
  });

  it('should not expose the private key through its properties or JSON', () => {
    expect(JSON.stringify(sut)).not.toMatch(/PRIVATE|BEGIN/);
    expect(Object.values(sut).some((v) => typeof v === 'object' && v !== null)).toBe(false);
  });

  it('should refuse to sign before a certificate is installed', () => {
    expect(() => InstitutionIdentity.generate('hospital-z').signer()).toThrow(/no certificate yet/);
  });

  it('should install its certificate and sign envelopes as itself', () => {
    const pem = ca.certify(sut.createCsr(), { institutionId: 'hospital-a', validDays: 365, now: T0 });
    sut.installCertificate(pem);
    expect(sut.certificatePem).toBe(pem);

    const signer = sut.signer();
    expect(signer.party).toBe('hospital-a');
    const payload = new Uint8Array([9, 8, 7]);
    const envelope = signer.sign(
      { federationId: 'fed-1', round: 2, phase: 'share-keys', recipient: 'server' },
      payload,
    );
    expect(envelope).toMatchObject({
      federationId: 'fed-1',
      round: 2,
      phase: 'share-keys',
      sender: 'hospital-a',
      recipient: 'server',
      payload,
    });
    expect(envelope.signature).toHaveLength(256);
    expect(envelopeSignatureValid(envelope, publicKeyOf(pem))).toBe(true);
  });

  it('should sign as itself even when the binding passed in names another sender', () => {
    const binding = {
      federationId: 'fed-1',
      round: 2,
      phase: 'share-keys',
      recipient: 'server',
      sender: 'x',
    } as const;
    expect(sut.signer().sign(binding, new Uint8Array(1)).sender).toBe('hospital-a');
  });

  it('should refuse a certificate for another institution or another key', () => {
    const other = InstitutionIdentity.generate('hospital-b');
    const otherPem = ca.certify(other.createCsr(), { institutionId: 'hospital-b', validDays: 365, now: T0 });
    expect(() => sut.installCertificate(otherPem)).toThrow(/for "hospital-b", not for hospital-a/);

    const impostor = InstitutionIdentity.generate('hospital-a');
    const impostorPem = ca.certify(impostor.createCsr(), {
      institutionId: 'hospital-a',
      validDays: 365,
      now: T0,
    });
    expect(() => sut.installCertificate(impostorPem)).toThrow(/certifies another key/);
  });

  it('should refuse an unusable institution id', () => {
    expect(() => InstitutionIdentity.generate('*')).toThrow(/"\*"/);
    expect(() => InstitutionIdentity.generate('')).toThrow(/non-empty/);
  });

  it('should come back from an encrypted export with the same key and certificate', () => {
    const exported = JSON.parse(JSON.stringify(sut.export('institution passphrase', { iterations: 10_000 })));
    expect(exported.encryptedPrivateKeyPem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(() => InstitutionIdentity.import(exported, 'wrong passphrase')).toThrow(/wrong passphrase/);

    const restored = InstitutionIdentity.import(exported, 'institution passphrase');
    expect(restored.certificatePem).toBe(sut.certificatePem);
    const envelope = restored
      .signer()
      .sign({ federationId: 'fed-1', round: 0, phase: 'advertise-keys', recipient: '*' }, new Uint8Array(4));
    expect(envelopeSignatureValid(envelope, publicKeyOf(sut.certificatePem!))).toBe(true);
  });
});
