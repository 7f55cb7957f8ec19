import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalCa, type LocalCa } from '../../../scripts/local-stack/local-ca';
import { CaBundleError, readCaBundle } from './ca-bundle';

describe('readCaBundle', () => {
  let dir: string;
  let a: LocalCa;
  let b: LocalCa;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scp-ca-bundle-'));
    a = createLocalCa('CA a');
    b = createLocalCa('CA b');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('returns every certificate of the bundle, text around them ignored', async () => {
    const path = await file(
      'bundle.pem',
      `# consortium CAs\n${a.certificatePem}\nsubject=CA b\n${b.certificatePem}`,
    );
    expect(readCaBundle(path)).toEqual([a.certificatePem.trim(), b.certificatePem.trim()]);
  });

  it('names the file it cannot read', () => {
    expect(() => readCaBundle(join(dir, 'missing.pem'))).toThrow(
      new CaBundleError(`cannot read ${join(dir, 'missing.pem')} (ENOENT)`),
    );
  });

  it('refuses a file without a certificate, a broken one, and one holding a private key', async () => {
    const empty = await file('empty.pem', 'not a certificate\n');
    expect(() => readCaBundle(empty)).toThrow(/empty.pem holds no PEM certificate \(expected one or more/);
    const broken = await file(
      'broken.pem',
      `${a.certificatePem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`,
    );
    expect(() => readCaBundle(broken)).toThrow(
      /broken.pem: certificate 2 of 2 is not a valid PEM certificate/,
    );
    const withKey = await file('with-key.pem', `${a.certificatePem}${a.issueServer(['localhost']).keyPem}`);
    expect(() => readCaBundle(withKey)).toThrow(
      /with-key.pem holds a private key: give only the CA certificate/,
    );
  });
});
