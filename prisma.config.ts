import { defineConfig } from 'prisma/config';

// The datasource URL comes from DATABASE_URL where a Prisma command needs one.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/scprivacy' },
});
