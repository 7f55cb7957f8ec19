import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';

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

/*
 * Query parameters arrive as text, or as a list when repeated (?a=1&a=2): each is checked here so
 * a bad one is a 400 naming it and what was expected, never a NaN or a list reaching a query.
 */

/** Absent and empty (?limit=) both mean "the default". */
const absentIfEmpty = (v: unknown) => (v === '' ? undefined : v);

/** A whole number in [min, max] given as text once; `fallback` when absent. */
export function queryWholeNumber(min: number, max: number, fallback: number) {
  const expected = `expected a whole number between ${min} and ${max}`;
  return z.preprocess(
    absentIfEmpty,
    z
      .string({ invalid_type_error: `expected one value (${expected})` })
      .regex(/^\d{1,16}$/, expected)
      .transform(Number)
      .refine((n) => n >= min && n <= max, expected)
      .default(String(fallback)),
  );
}

/** A text given once, of at most `maxLength` characters; undefined when absent. */
export function queryText(what: string, maxLength: number) {
  const expected = `expected ${what} of at most ${maxLength} characters`;
  return z.preprocess(
    absentIfEmpty,
    z
      .string({ invalid_type_error: `expected one value (${expected})` })
      .max(maxLength, expected)
      .optional(),
  );
}

/** Parses a request's query with `fields`; unknown parameters are ignored. */
export function parseQuery<T extends z.ZodRawShape>(fields: T, query: unknown): z.output<z.ZodObject<T>> {
  return parseInput(z.object(fields), query ?? {}, 'query parameters');
}
