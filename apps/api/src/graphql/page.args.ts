import { ArgsType, Field, Int } from '@nestjs/graphql';
import { z } from 'zod';
import { parseInput, queryWholeNumber } from '../common/validation';

export const MAX_PAGE = 1000;
/** Deeper pages make Postgres walk past every skipped row; nobody pages a million rows by hand. */
export const MAX_OFFSET = 1_000_000;
const DEFAULT_LIMIT = 100;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: DEFAULT_LIMIT, description: `1 to ${MAX_PAGE}` }) limit!: number;
  @Field(() => Int, { defaultValue: 0, description: `0 to ${MAX_OFFSET}` }) offset!: number;
}

const wholeNumber = (min: number, max: number) => {
  const expected = `expected a whole number between ${min} and ${max}`;
  return z.number({ invalid_type_error: expected }).int(expected).min(min, expected).max(max, expected);
};

const pageSchema = z.object({
  limit: wholeNumber(1, MAX_PAGE).default(DEFAULT_LIMIT),
  offset: wholeNumber(0, MAX_OFFSET).default(0),
});

/** GraphQL paging arguments, bounded (GraphQL itself only checks that they are 32-bit integers). */
export function page(args: Partial<PageArgs>): { limit: number; offset: number } {
  return parseInput(
    pageSchema,
    { limit: args.limit ?? undefined, offset: args.offset ?? undefined },
    'paging',
  );
}

/** REST paging query parameters (?limit=&offset=), as text; same bounds as page(). */
export const pageQueryFields = {
  limit: queryWholeNumber(1, MAX_PAGE, DEFAULT_LIMIT),
  offset: queryWholeNumber(0, MAX_OFFSET, 0),
};
