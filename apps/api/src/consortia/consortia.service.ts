import { randomUUID } from 'node:crypto';
import { ConflictException, ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { z } from 'zod';
import { generateToken, hashToken, type Consortium } from '@fl/persistence';
import { AuditService } from '../auth/audit.service';
import { assertConsortiumAdmin, consortiumPrincipal } from '../auth/access';
import type { Principal } from '../auth/principal';
import { isUniqueViolation, isUuid, parseInput } from '../common/validation';
import { PRISMA, type Db } from '../infra/tokens';
import { CaVaultService } from './ca-vault.service';

const consortiumName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters (it becomes the name of the consortium certificate)')
  .regex(/^[\p{L}\p{N} ._()-]+$/u, 'may contain letters, digits, spaces and . _ ( ) - only');

@Injectable()
export class ConsortiaService {
  constructor(
    @Inject(PRISMA) private readonly db: Db,
    private readonly vault: CaVaultService,
    private readonly audit: AuditService,
  ) {}

  /** Creates a consortium with its certificate authority and a first administrator token. */
  async create(
    principal: Principal,
    rawName: string,
  ): Promise<{ consortium: Consortium; adminToken: string }> {
    if (principal.kind !== 'operator') {
      throw new ForbiddenException('Only the platform operator may create consortia.');
    }
    const name = parseInput(consortiumName, rawName, 'consortium name');
    if (await this.db.consortium.findUnique({ where: { name } })) {
      throw new ConflictException(`A consortium named "${name}" already exists.`);
    }
    const id = randomUUID();
    const { certificatePem, sealed } = this.vault.create(id, name);
    const adminToken = generateToken();
    try {
      const consortium = await this.db.$transaction(async (tx) => {
        const created = await tx.consortium.create({
          data: { id, name, caCertificatePem: certificatePem, caKeySealed: sealed },
        });
        const token = await tx.accessToken.create({
          data: {
            consortiumId: id,
            role: 'admin',
            tokenHash: hashToken(adminToken),
            label: 'first administrator',
          },
        });
        await this.audit.record(
          principal,
          {
            action: 'consortium.create',
            target: `consortium:${id}`,
            consortiumId: id,
            detail: { name, adminTokenId: token.id },
          },
          tx,
        );
        return created;
      });
      return { consortium, adminToken };
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictException(`A consortium named "${name}" already exists.`);
      throw e;
    }
  }

  /** The operator sees every consortium; everyone else their own. */
  async list(principal: Principal): Promise<Consortium[]> {
    if (principal.kind === 'operator') return this.db.consortium.findMany({ orderBy: { createdAt: 'asc' } });
    return this.db.consortium.findMany({ where: { id: principal.consortiumId } });
  }

  /** Consortium admin: changes its settings, recorded in the audit log with the new values. */
  async updateSettings(
    principal: Principal,
    id: string,
    settings: { membersSeeInstitutionRounds: boolean },
  ): Promise<Consortium> {
    const notFound = `Consortium ${id} not found.`;
    if (!isUuid(id)) throw new NotFoundException(notFound);
    assertConsortiumAdmin(principal, id, notFound, "change the consortium's settings");
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.consortium.updateMany({ where: { id }, data: settings });
      if (count === 0) throw new NotFoundException(notFound);
      await this.audit.record(
        principal,
        { action: 'consortium.settings', target: `consortium:${id}`, consortiumId: id, detail: settings },
        tx,
      );
      return tx.consortium.findUniqueOrThrow({ where: { id } });
    });
  }

  async get(principal: Principal, id: string): Promise<Consortium> {
    const visible =
      principal.kind === 'operator' || consortiumPrincipal(principal, 'read').consortiumId === id;
    const row = visible && isUuid(id) ? await this.db.consortium.findUnique({ where: { id } }) : null;
    if (!row) throw new NotFoundException(`Consortium ${id} not found.`);
    return row;
  }
}
