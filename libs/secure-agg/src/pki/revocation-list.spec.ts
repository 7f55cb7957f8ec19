import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConsortiumAuthority } from './consortium-authority';
import { RevocationListRejected } from './errors';
import { generateRsaKeyPair } from './keys';
import { signRevocationList, verifyRevocationList, type RevocationList } from './revocation-list';
import { T0 } from './test-support';

describe(verifyRevocationList.name, () => {
  let ca: ConsortiumAuthority;
  let root: forge.pki.Certificate;
  let list: RevocationList;

  beforeAll(() => {
    ca = ConsortiumAuthority.create({ consortiumName: 'list consortium', validDays: 30, now: T0 });
    root = forge.pki.certificateFromPem(ca.certificatePem);
    const exported = ca.export('list passphrase', { iterations: 10_000 });
    const key = forge.pki.decryptRsaPrivateKey(exported.encryptedPrivateKeyPem, 'list passphrase');
    list = signRevocationList('list consortium', T0, ['4B', '4a', '4a'], key);
  });

  it('should accept the root-signed list after a JSON round trip, serials normalised', () => {
    expect(list.serials).toEqual(['4a', '4b']);
    expect(verifyRevocationList(JSON.parse(JSON.stringify(list)), root, 'list consortium')).toEqual(list);
  });

  it.each([
    ['a serial removed', { serials: ['4a'] }],
    ['a serial added', { serials: ['4a', '4b', '4c'] }],
    ['issuedAt moved', { issuedAt: '2030-01-01T00:00:00.000Z' }],
    ['the signature replaced', { signature: forge.util.encode64('x'.repeat(256)) }],
  ])('should refuse the list with %s', (_what, change) => {
    expect(() => verifyRevocationList({ ...list, ...change }, root, 'list consortium')).toThrow(
      /not signed by the root/,
    );
  });

  it('should refuse a list signed by another key, even under the same consortium name', () => {
    const forged = signRevocationList('list consortium', T0, [], generateRsaKeyPair().privateKey);
    expect(() => verifyRevocationList(forged, root, 'list consortium')).toThrow(RevocationListRejected);
  });

  it('should refuse malformed documents and another issuer', () => {
    expect(() => verifyRevocationList({ ...list, serials: ['XYZ'] }, root, 'list consortium')).toThrow(
      /not a/,
    );
    expect(() => verifyRevocationList(null, root, 'list consortium')).toThrow(/not a/);
    expect(() => verifyRevocationList({ ...list, issuedAt: 'yesterday' }, root, 'list consortium')).toThrow(
      /ISO/,
    );
    expect(() => verifyRevocationList(list, root, 'another consortium')).toThrow(/not by consortium/);
  });
});
