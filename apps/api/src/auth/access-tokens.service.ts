import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { generateToken, hashToken, type AccessToken, type Role } from '@fl/persistence';
import { PRISMA, type Db } from '../infra/tokens';
import { isUuid } from '../common/validation';
import { assertConsortiumAdmin } from './access';
import { AuditService } from './audit.service';
import type { Principal } from './principal';

export interface NewTokenRequest {
  consortiumId: string;
  role: Role;
  institutionId?: string | null;
  label?: string | null;
}

/** Issues and revokes API tokens. Consortium admins manage their own; the operator any (recovery). */
@Injectable()
export class AccessTokensService {
  constructor(
    @Inject(PRISMA) private readonly db: Db,
    private readonly audit: AuditService,
  ) {}

  async create(
    principal: Principal,
    req: NewTokenRequest,
  ): Promise<{ accessToken: AccessToken; token: string }> {
    const notFound = `Consortium ${req.consortiumId} not found.`;
    if (!isUuid(req.consortiumId)) throw new NotFoundException(notFound);
    assertConsortiumAdmin(principal, req.consortiumId, notFound, 'create access tokens', {
      allowOperator: true,
    });
    if (!(await this.db.consortium.findUnique({ where: { id: req.consortiumId }, select: { id: true } }))) {
      throw new NotFoundException(notFound);
    }
    let institutionId: string | null = null;
    if (req.role === 'member') {
      if (!req.institutionId)
        throw new BadRequestException('A member token needs the institution it acts for.');
      const institution = isUuid(req.institutionId)
        ? await this.db.institution.findUnique({ where: { id: req.institutionId } })
        : null;
      if (!institution || institution.consortiumId !== req.consortiumId) {
        throw new NotFoundException(`Institution ${req.institutionId} not found.`);
      }
      if (institution.status === 'revoked') {
        throw new ConflictException(
          `Institution "${institution.name}" is revoked; it cannot get new tokens.`,
        );
      }
      institutionId = institution.id;
    } else if (req.institutionId) {
      throw new BadRequestException('An admin token belongs to the consortium, not to an institution.');
    }
    const label = (req.label ?? '').trim().slice(0, 200);
    const token = generateToken();
    const accessToken = await this.db.$transaction(async (tx) => {
      const row = await tx.accessToken.create({
        data: {
          consortiumId: req.consortiumId,
          institutionId,
          role: req.role,
          tokenHash: hashToken(token),
          label,
        },
      });
      await this.audit.record(
        principal,
        {
          action: 'token.create',
          target: `token:${row.id}`,
          consortiumId: req.consortiumId,
          detail: { role: req.role, institutionId, label },
        },
        tx,
      );
      return row;
    });
    return { accessToken, token };
  }

  async revoke(principal: Principal, id: string): Promise<AccessToken> {
    const row = isUuid(id) ? await this.db.accessToken.findUnique({ where: { id } }) : null;
    if (!row) throw new NotFoundException(`Access token ${id} not found.`);
    assertConsortiumAdmin(
      principal,
      row.consortiumId,
      `Access token ${id} not found.`,
      'revoke access tokens',
      {
        allowOperator: true,
      },
    );
    if (row.revokedAt) return row;
    return this.db.$transaction(async (tx) => {
      const updated = await tx.accessToken.update({ where: { id }, data: { revokedAt: new Date() } });
      await this.audit.record(
        principal,
        { action: 'token.revoke', target: `token:${id}`, consortiumId: row.consortiumId },
        tx,
      );
      return updated;
    });
  }

  async list(principal: Principal, consortiumId: string): Promise<AccessToken[]> {
    const notFound = `Consortium ${consortiumId} not found.`;
    if (!isUuid(consortiumId)) throw new NotFoundException(notFound);
    assertConsortiumAdmin(principal, consortiumId, notFound, 'list access tokens', { allowOperator: true });
    return this.db.accessToken.findMany({ where: { consortiumId }, orderBy: { createdAt: 'asc' } });
  }
}
