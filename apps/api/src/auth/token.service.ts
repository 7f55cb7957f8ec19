import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { hashToken } from '@fl/persistence';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import { PRISMA, type Db } from '../infra/tokens';
import { AuthFailureLimiter } from '../security/auth-failure-limiter';
import type { Principal } from './principal';

/** lastUsedAt is informative; writing it on every request would turn each read into a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class TokenService {
  private readonly operatorDigest: Buffer;

  constructor(
    @Inject(PRISMA) private readonly db: Db,
    @Inject(API_CONFIG) config: ApiConfig,
    private readonly failures: AuthFailureLimiter,
  ) {
    this.operatorDigest = createHash('sha256').update(config.platformAdminToken).digest();
  }

  /**
   * The principal behind an `Authorization: Bearer <token>` header, or 401. With `client` (its
   * address), a token that fails counts against that client, and a client with too many recent
   * failures gets 429 (TooManyAuthFailures) before its token is even looked at.
   */
  async authenticate(authorization: string | undefined, client?: string): Promise<Principal> {
    const token = bearerToken(authorization);
    if (token === undefined) {
      throw new UnauthorizedException('Sign in: send your access token as "Authorization: Bearer <token>".');
    }
    if (client === undefined) return this.verify(token);
    await this.failures.assertAllowed(client);
    try {
      return await this.verify(token);
    } catch (e) {
      if (e instanceof UnauthorizedException) await this.failures.recordFailure(client);
      throw e;
    }
  }

  private async verify(token: string): Promise<Principal> {
    // Compare digests, so the comparison takes the same time whatever the token's length.
    const digest = createHash('sha256').update(token).digest();
    if (timingSafeEqual(digest, this.operatorDigest)) return { kind: 'operator' };

    const row = await this.db.accessToken.findUnique({
      where: { tokenHash: hashToken(token) },
      include: { institution: { select: { id: true, name: true, status: true } } },
    });
    if (!row || row.revokedAt) throw new UnauthorizedException('This access token is unknown or revoked.');
    this.touch(row.id, row.lastUsedAt);
    if (row.role === 'admin') return { kind: 'admin', consortiumId: row.consortiumId, tokenId: row.id };
    if (!row.institution || row.institution.status === 'revoked') {
      throw new UnauthorizedException('The institution of this access token has been revoked.');
    }
    return {
      kind: 'member',
      consortiumId: row.consortiumId,
      tokenId: row.id,
      institutionId: row.institution.id,
      institutionName: row.institution.name,
    };
  }

  private touch(id: string, lastUsedAt: Date | null): void {
    const now = new Date();
    if (lastUsedAt && now.getTime() - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    void this.db.accessToken.update({ where: { id }, data: { lastUsedAt: now } }).catch(() => undefined);
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
