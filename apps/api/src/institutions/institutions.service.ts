import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { generateToken, hashToken, type Institution } from '@fl/persistence';
import { INSTITUTION_NAME, institutionQueueUser } from '@fl/platform';
import { provisionInstitutionQueueUser, revokeInstitutionQueueUser } from '@fl/queue';
import { CertificationRefused } from '@fl/secure-agg';
import { assertConsortiumAdmin, canReachInstitution, consortiumPrincipal } from '../auth/access';
import { AuditService } from '../auth/audit.service';
import type { Principal } from '../auth/principal';
import { isUniqueViolation, isUuid, parseInput } from '../common/validation';
import { CaVaultService } from '../consortia/ca-vault.service';
import { PRISMA, REDIS, type Db } from '../infra/tokens';

/** How long an institution certificate is valid (the worker renews it with a new CSR). */
export const INSTITUTION_CERT_DAYS = 365;

const registration = z.object({
  name: z
    .string()
    .regex(
      INSTITUTION_NAME,
      'must be 1-63 lower-case letters, digits and dashes, starting with a letter or digit (it names the certificate, queue and storage folder)',
    ),
  displayName: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
});

@Injectable()
export class InstitutionsService {
  private readonly logger = new Logger('Institutions');

  constructor(
    @Inject(PRISMA) private readonly db: Db,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly vault: CaVaultService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Registers an institution: its row, a first member token, and the Redis user its worker logs
   * in with. The token and queue password are returned once and stored only as hashes.
   */
  async register(
    principal: Principal,
    consortiumId: string,
    rawName: string,
    rawDisplayName: string,
  ): Promise<{ institution: Institution; token: string; queueUsername: string; queuePassword: string }> {
    await this.consortiumVisibleTo(principal, consortiumId, 'register institutions');
    const { name, displayName } = parseInput(
      registration,
      { name: rawName, displayName: rawDisplayName },
      'institution',
    );
    const token = generateToken();
    const queuePassword = generateToken();
    let institution: Institution;
    try {
      institution = await this.db.$transaction(async (tx) => {
        const created = await tx.institution.create({
          data: { consortiumId, name, displayName, queueUser: institutionQueueUser(name) },
        });
        await tx.accessToken.create({
          data: {
            consortiumId,
            institutionId: created.id,
            role: 'member',
            tokenHash: hashToken(token),
            label: 'first member token',
          },
        });
        await this.audit.record(
          principal,
          {
            action: 'institution.register',
            target: `institution:${created.id}`,
            consortiumId,
            detail: { name },
          },
          tx,
        );
        return created;
      });
    } catch (e) {
      // Queue names, Redis users and storage folders are named after the institution alone, so
      // a name is unique on the whole platform (Institution_name_key). The index, not a look-up
      // first, decides between concurrent registrations: the loser stops here, before Redis.
      if (isUniqueViolation(e)) {
        throw new ConflictException(`The institution name "${name}" is already taken on this platform.`);
      }
      throw e;
    }
    // Only the committed winner of the name provisions (and so may replace) its Redis user.
    let queueUsername: string;
    try {
      ({ username: queueUsername } = await provisionInstitutionQueueUser(this.redis, name, queuePassword));
    } catch (e) {
      // Without its queue user the institution cannot work: undo the registration. The name was
      // ours until the row goes, so a half-made user (ACL SAVE failed) is ours to delete first.
      await revokeInstitutionQueueUser(this.redis, name).catch(() => undefined);
      await this.db.institution.delete({ where: { id: institution.id } }).catch(() => undefined);
      this.logger.error(`provisioning the queue user of ${name}: ${(e as Error).message}`);
      throw new ServiceUnavailableException(
        `Could not create the queue user of "${name}" on Redis; nothing was registered. Try again later.`,
      );
    }
    if (queueUsername !== institution.queueUser) {
      institution = await this.db.institution.update({
        where: { id: institution.id },
        data: { queueUser: queueUsername },
      });
    }
    return { institution, token, queueUsername, queuePassword };
  }

  /** Signs the institution's CSR with the consortium CA (admin). */
  async certify(principal: Principal, institutionId: string, csrPem: string): Promise<Institution> {
    const institution = await this.getForAdmin(principal, institutionId, 'certify institutions');
    if (institution.status === 'revoked') {
      throw new ConflictException(
        `Institution "${institution.name}" is revoked and cannot be certified again.`,
      );
    }
    if (typeof csrPem !== 'string' || !csrPem.includes('CERTIFICATE REQUEST')) {
      throw new BadRequestException(
        `The certificate request for "${institution.name}" is not a PEM CSR ` +
          '("-----BEGIN CERTIFICATE REQUEST-----"); the institution\'s worker prints one with its key.',
      );
    }
    try {
      return await this.db.$transaction(async (tx) => {
        const { certificatePem, serial } = await this.vault.update(tx, institution.consortiumId, (ca) => {
          const before = new Set(ca.issued().map((c) => c.serial));
          const pem = ca.certify(csrPem, {
            institutionId: institution.name,
            validDays: INSTITUTION_CERT_DAYS,
          });
          const issued = ca.issued().find((c) => !before.has(c.serial));
          return { certificatePem: pem, serial: issued?.serial ?? null };
        });
        const updated = await tx.institution.update({
          where: { id: institution.id },
          data: {
            status: 'certified',
            csrPem,
            certificatePem,
            certificateSerial: serial,
            certifiedAt: new Date(),
          },
        });
        await this.audit.record(
          principal,
          {
            action: 'institution.certify',
            target: `institution:${institution.id}`,
            consortiumId: institution.consortiumId,
            detail: { serial },
          },
          tx,
        );
        return updated;
      });
    } catch (e) {
      if (e instanceof CertificationRefused) {
        throw new BadRequestException(`Certificate request refused: ${e.message}.`);
      }
      throw e;
    }
  }

  /**
   * Revokes an institution (admin): its tokens stop working, its Redis user is deleted (Redis
   * disconnects it), and its certificates go on the consortium's revocation list.
   */
  async revoke(principal: Principal, institutionId: string): Promise<Institution> {
    const institution = await this.getForAdmin(principal, institutionId, 'revoke institutions');
    if (institution.status === 'revoked') return institution;
    const updated = await this.db.$transaction(async (tx) => {
      if (institution.certificateSerial) {
        await this.vault.update(tx, institution.consortiumId, (ca) => ca.revoke(institution.name));
      }
      await tx.accessToken.updateMany({
        where: { institutionId: institution.id, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      const row = await tx.institution.update({ where: { id: institution.id }, data: { status: 'revoked' } });
      await this.audit.record(
        principal,
        {
          action: 'institution.revoke',
          target: `institution:${institution.id}`,
          consortiumId: institution.consortiumId,
        },
        tx,
      );
      return row;
    });
    await revokeInstitutionQueueUser(this.redis, institution.name).catch((e: Error) =>
      this.logger.error(`deleting the queue user of ${institution.name}: ${e.message}`),
    );
    return updated;
  }

  /** Admins (and the operator) see every institution of the consortium; a member its own. */
  async list(principal: Principal, consortiumId: string): Promise<Institution[]> {
    if (principal.kind === 'member') {
      if (principal.consortiumId !== consortiumId) return [];
      return this.db.institution.findMany({ where: { id: principal.institutionId } });
    }
    if (principal.kind === 'admin' && principal.consortiumId !== consortiumId) return [];
    return this.db.institution.findMany({ where: { consortiumId }, orderBy: { name: 'asc' } });
  }

  /** One institution's row, if the caller may reach it (else 404). */
  async get(principal: Principal, id: string): Promise<Institution> {
    const row = isUuid(id) ? await this.db.institution.findUnique({ where: { id } }) : null;
    if (!row || !(principal.kind === 'operator' || canReachInstitution(principal, row))) {
      throw new NotFoundException(`Institution ${id} not found.`);
    }
    return row;
  }

  /** The caller's own consortium's institution called `name` (REST paths name institutions). */
  async getByName(principal: Principal, name: string, action: string): Promise<Institution> {
    const p = consortiumPrincipal(principal, action);
    const row = await this.db.institution.findUnique({
      where: { consortiumId_name: { consortiumId: p.consortiumId, name } },
    });
    if (!row || !canReachInstitution(p, row)) throw new NotFoundException(`Institution "${name}" not found.`);
    return row;
  }

  private async getForAdmin(principal: Principal, id: string, action: string): Promise<Institution> {
    const row = isUuid(id) ? await this.db.institution.findUnique({ where: { id } }) : null;
    if (!row) throw new NotFoundException(`Institution ${id} not found.`);
    assertConsortiumAdmin(principal, row.consortiumId, `Institution ${id} not found.`, action);
    return row;
  }

  private async consortiumVisibleTo(
    principal: Principal,
    consortiumId: string,
    action: string,
  ): Promise<void> {
    const notFound = `Consortium ${consortiumId} not found.`;
    if (!isUuid(consortiumId)) throw new NotFoundException(notFound);
    assertConsortiumAdmin(principal, consortiumId, notFound, action);
    if (!(await this.db.consortium.findUnique({ where: { id: consortiumId }, select: { id: true } }))) {
      throw new NotFoundException(notFound);
    }
  }
}
