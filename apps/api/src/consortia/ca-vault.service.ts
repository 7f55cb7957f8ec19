import { createHmac } from 'node:crypto';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Prisma } from '@fl/persistence';
import { ConsortiumAuthority, type ExportedAuthority } from '@fl/secure-agg';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';

/** How long a consortium root is valid; institution certificates must expire before it. */
export const CA_VALID_DAYS = 3650;

/**
 * Keeps each consortium's certificate authority in Consortium.caKeySealed: the authority's export
 * (root certificate, issuance records, revocation list, and the private key encrypted as PKCS#8)
 * as UTF-8 JSON. The key's passphrase is derived from SCPRIVACY_MASTER_KEY and the consortium id,
 * so a database dump alone never yields a CA key, and one consortium's passphrase says nothing
 * about another's.
 */
@Injectable()
export class CaVaultService {
  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  /** A new root for a consortium that is about to be inserted with `consortiumId`. */
  create(
    consortiumId: string,
    consortiumName: string,
  ): { certificatePem: string; sealed: Uint8Array<ArrayBuffer> } {
    const authority = ConsortiumAuthority.create({ consortiumName, validDays: CA_VALID_DAYS });
    return { certificatePem: authority.certificatePem, sealed: this.seal(consortiumId, authority) };
  }

  /**
   * Runs `change` on the consortium's authority and stores the result, holding a row lock so two
   * concurrent certifications cannot lose each other's issuance records.
   */
  async update<T>(
    tx: Prisma.TransactionClient,
    consortiumId: string,
    change: (authority: ConsortiumAuthority) => T,
  ): Promise<T> {
    const rows = await tx.$queryRaw<{ caKeySealed: Uint8Array }[]>`
      SELECT "caKeySealed" FROM "Consortium" WHERE id = ${consortiumId}::uuid FOR UPDATE`;
    if (rows.length === 0) throw new NotFoundException(`Consortium ${consortiumId} not found.`);
    const authority = this.unseal(consortiumId, rows[0].caKeySealed);
    const result = change(authority);
    await tx.consortium.update({
      where: { id: consortiumId },
      data: { caKeySealed: this.seal(consortiumId, authority) },
    });
    return result;
  }

  private passphrase(consortiumId: string): string {
    return createHmac('sha256', this.config.masterKey)
      .update(`scprivacy consortium CA key ${consortiumId}`)
      .digest('base64url');
  }

  private seal(consortiumId: string, authority: ConsortiumAuthority): Uint8Array<ArrayBuffer> {
    const exported = authority.export(this.passphrase(consortiumId));
    return new Uint8Array(Buffer.from(JSON.stringify(exported), 'utf8'));
  }

  private unseal(consortiumId: string, sealed: Uint8Array): ConsortiumAuthority {
    const exported = JSON.parse(Buffer.from(sealed).toString('utf8')) as ExportedAuthority;
    return ConsortiumAuthority.import(exported, this.passphrase(consortiumId));
  }
}
