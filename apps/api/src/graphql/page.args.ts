import { BadRequestException } from '@nestjs/common';
import { ArgsType, Field, Int } from '@nestjs/graphql';

export const MAX_PAGE = 1000;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 100, description: `at most ${MAX_PAGE}` }) limit!: number;
  @Field(() => Int, { defaultValue: 0 }) offset!: number;
}

/** Paging bounds, checked here because there is no validation pipe. */
export function page(args: PageArgs): { limit: number; offset: number } {
  const limit = args.limit ?? 100;
  const offset = args.offset ?? 0;
  if (limit < 1 || limit > MAX_PAGE)
    throw new BadRequestException(`limit must be between 1 and ${MAX_PAGE}.`);
  if (offset < 0) throw new BadRequestException('offset must not be negative.');
  return { limit, offset };
}
