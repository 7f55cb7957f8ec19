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
  @Field(() => JSONValue, {
    description:
      '{ "<institution>": loss }. A member sees only its own institution\'s, unless the consortium\'s membersSeeInstitutionRounds is on.',
  })
  losses!: unknown;
  @Field(() => Float, {
    nullable: true,
    description: "Mean of every institution's loss in the round (null without losses); everyone may see it.",
  })
  meanLoss!: number | null;
  @Field(() => JSONValue, {
    description:
      'Round-level timings (waitMs, aggregateMs, fetchMs, storeMs, totalMs) and institutions: { "<institution>": { trainMs, maskMs, transferMs, backend, modelBytesIn } }. A member sees only its own institution\'s entry, unless the consortium\'s membersSeeInstitutionRounds is on.',
  })
  timings!: unknown;
  @Field(() => Float) bytesIn!: number;
  @Field(() => Float) bytesOut!: number;
  @Field() startedAt!: Date;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => String, { nullable: true }) error!: string | null;
}
