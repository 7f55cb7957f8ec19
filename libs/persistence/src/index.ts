/**
 * @fl/persistence: the platform's state in Postgres.
 * - the generated Prisma client (models, enums, the Prisma namespace) and createPrismaClient
 * - migrate: applies prisma/migrations without Prisma's schema engine
 * - tokens: access tokens are stored hashed
 */
export * from './generated/client';
export { createPrismaClient } from './client';
export { migrate, MigrationError, resolveMigrationsDir, type MigrateOptions } from './migrate';
export { generateToken, hashToken, TOKEN_PREFIX } from './tokens';
