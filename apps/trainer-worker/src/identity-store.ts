import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InstitutionIdentity, type ExportedIdentity } from '@fl/secure-agg';

/**
 * The institution's signing identity in its private state directory: the key pair is made here
 * and never leaves (only the CSR does); the key is stored encrypted under the worker's passphrase.
 * The consortium's certificate for it, and the consortium root it chains to, are installed by the
 * operator (scripts/stack.ts does it for the example consortium) or fetched from the API.
 */
export class IdentityStore {
  constructor(
    private readonly dir: string,
    private readonly institution: string,
    private readonly passphrase: string,
  ) {}

  get csrPath(): string {
    return join(this.dir, 'institution.csr.pem');
  }
  get certificatePath(): string {
    return join(this.dir, 'institution.cert.pem');
  }
  get caPath(): string {
    return join(this.dir, 'consortium-ca.pem');
  }
  private get keyPath(): string {
    return join(this.dir, 'institution.key.json');
  }

  /** Loads the identity, or makes a key pair and a CSR on first start. */
  async loadOrCreate(): Promise<InstitutionIdentity> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let identity: InstitutionIdentity;
    if (existsSync(this.keyPath)) {
      const exported = JSON.parse(await readFile(this.keyPath, 'utf8')) as ExportedIdentity;
      identity = InstitutionIdentity.import(exported, this.passphrase);
      if (identity.institutionId !== this.institution) {
        throw new Error(`${this.keyPath} belongs to ${identity.institutionId}, not ${this.institution}`);
      }
    } else {
      identity = InstitutionIdentity.generate(this.institution);
      await this.writeAtomic(this.keyPath, JSON.stringify(identity.export(this.passphrase)), 0o600);
    }
    if (!existsSync(this.csrPath)) await this.writeAtomic(this.csrPath, identity.createCsr(), 0o644);
    return identity;
  }

  /** Installs the certificate if it is there (and matches the key); returns the pinned root. */
  async installCertificate(identity: InstitutionIdentity): Promise<string | undefined> {
    if (!existsSync(this.certificatePath) || !existsSync(this.caPath)) return undefined;
    identity.installCertificate(await readFile(this.certificatePath, 'utf8'));
    return readFile(this.caPath, 'utf8');
  }

  async saveCertificate(certificatePem: string, caCertificatePem: string): Promise<void> {
    await this.writeAtomic(this.caPath, caCertificatePem, 0o644);
    await this.writeAtomic(this.certificatePath, certificatePem, 0o644);
  }

  private async writeAtomic(path: string, data: string, mode: number): Promise<void> {
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, data, { mode });
    await rename(tmp, path);
  }
}
