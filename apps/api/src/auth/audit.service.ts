import { Inject, Injectable } from '@nestjs/common';
import type { Prisma } from '@fl/persistence';
import { PRISMA, type Db } from '../infra/tokens';
import { actorOf, type Principal } from './principal';

export interface AuditEntry {
  action: string;
  /** "<kind>:<id>", e.g. "federation:<id>". */
  target: string;
  consortiumId?: string | null;
  detail?: Record<string, unknown>;
}

/** One AuditLog row per write: who did what to which object. */
@Injectable()
export class AuditService {
  constructor(@Inject(PRISMA) private readonly db: Db) {}

  /** Pass the transaction client to record the entry atomically with the write. */
  async record(
    principal: Principal,
    entry: AuditEntry,
    tx: Prisma.TransactionClient = this.db,
  ): Promise<void> {
    await tx.auditLog.create({
      data: {
        consortiumId: entry.consortiumId ?? null,
        actor: actorOf(principal),
        action: entry.action,
        target: entry.target,
        detail: (entry.detail ?? {}) as Prisma.InputJsonObject,
      },
    });
  }
}
