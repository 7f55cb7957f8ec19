import { BadRequestException } from '@nestjs/common';
import type { z } from 'zod';

/** Parses `input` with a zod schema; problems become one 400 / BAD_USER_INPUT message. */
export function parseInput<T extends z.ZodTypeAny>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const field = i.path.join('.');
    return field ? `${field}: ${i.message}` : i.message;
  });
  throw new BadRequestException(`Invalid ${what}: ${problems.join('; ')}`);
}

/** Prisma's "unique constraint failed". */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'P2002';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Row ids are UUIDs; anything else cannot name a row (and would make Postgres complain). */
export function isUuid(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}
