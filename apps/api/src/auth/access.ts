import { ForbiddenException, NotFoundException } from '@nestjs/common';
import type { ConsortiumPrincipal, Principal } from './principal';

/**
 * Tenant rules, in one place. Anything of another consortium (or, for a member, of another
 * institution) answers "not found", exactly as if it did not exist, so ids never leak. "Forbidden"
 * is kept for what the caller can already see but may not do (a member asking for an admin action).
 */

/** Everything but the operator acts inside one consortium. */
export function consortiumPrincipal(p: Principal, action: string): ConsortiumPrincipal {
  if (p.kind === 'operator') {
    throw new ForbiddenException(
      `The platform operator token cannot ${action}; use a consortium administrator's or an institution's token.`,
    );
  }
  return p;
}

/** The caller belongs to `consortiumId` (any role), else 404 with `notFound`. */
export function assertInConsortium(
  p: Principal,
  consortiumId: string,
  notFound: string,
): ConsortiumPrincipal {
  const c = consortiumPrincipal(p, 'read consortium data');
  if (c.consortiumId !== consortiumId) throw new NotFoundException(notFound);
  return c;
}

/** The caller administers `consortiumId`; members of it get 403, everyone else 404. */
export function assertConsortiumAdmin(
  p: Principal,
  consortiumId: string,
  notFound: string,
  action: string,
  { allowOperator = false } = {},
): void {
  if (p.kind === 'operator') {
    if (allowOperator) return;
    consortiumPrincipal(p, action);
  }
  const c = assertInConsortium(p, consortiumId, notFound);
  if (c.kind !== 'admin') throw new ForbiddenException(`Only a consortium administrator may ${action}.`);
}

/**
 * The caller may see this institution's own data (datasets, annotation jobs, its row): an admin
 * of its consortium or a member of the institution itself.
 */
export function canReachInstitution(
  p: Principal,
  institution: { id: string; consortiumId: string },
): boolean {
  if (p.kind === 'admin') return p.consortiumId === institution.consortiumId;
  if (p.kind === 'member') return p.institutionId === institution.id;
  return false;
}
