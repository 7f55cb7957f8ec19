import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

/**
 * The platform's Prisma client. Prisma 7 has no query engine binary: queries go through a
 * driver adapter, here node-postgres (`pg`), which owns the connection pool.
 */
export function createPrismaClient(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}
