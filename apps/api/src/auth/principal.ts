/**
 * Who is calling, proven by the bearer token. Every service method takes the principal and
 * checks the tenant itself (see access.ts), so a resolver or controller cannot forget it.
 */
export type Principal =
  /** The platform operator (PLATFORM_ADMIN_TOKEN): creates consortia, issues recovery tokens. */
  | { kind: 'operator' }
  /** A consortium administrator (AccessToken.role = admin). */
  | { kind: 'admin'; consortiumId: string; tokenId: string }
  /** A member of one institution (AccessToken.role = member). */
  | { kind: 'member'; consortiumId: string; tokenId: string; institutionId: string; institutionName: string };

export type ConsortiumPrincipal = Exclude<Principal, { kind: 'operator' }>;

/** The AuditLog.actor of a principal. */
export function actorOf(principal: Principal): string {
  switch (principal.kind) {
    case 'operator':
      return 'operator';
    case 'admin':
      return `admin:${principal.tokenId}`;
    case 'member':
      return `institution:${principal.institutionName}`;
  }
}
