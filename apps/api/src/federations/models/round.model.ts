import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { RoundStatus } from '../../graphql/enums';
import { JSONValue } from '../../graphql/json.scalar';

@ObjectType('Round', { description: 'One round of a federation: who took part, losses and timings.' })
export class Round {
  @Field(() => ID) id!: string;
  @Field(() => ID) federationId!: string;
  @Field(() => Int) number!: number;
  @Field(() => RoundStatus) status!: RoundStatus;
  @Field(() => [String]) participants!: string[];
  @Field(() => [String]) survivors!: string[];
  @Field(() => [String]) dropouts!: string[];
  @Field(() => JSONValue, { description: '{ "<institution>": loss }' }) losses!: unknown;
  @Field(() => JSONValue) timings!: unknown;
  @Field(() => Float) bytesIn!: number;
  @Field(() => Float) bytesOut!: number;
  @Field() startedAt!: Date;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => String, { nullable: true }) error!: string | null;
}
