import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';

@ObjectType('FederationEvent', {
  description: 'Live progress of a federation (after each round, and on status changes).',
})
export class FederationEvent {
  @Field(() => ID) federationId!: string;
  @Field({ description: "'round' or 'status'" }) kind!: string;
  @Field() status!: string;
  @Field(() => Int) round!: number;
  @Field(() => Int) rounds!: number;
  @Field(() => Float, { nullable: true }) meanLoss?: number;
  @Field(() => [String], { nullable: true }) survivors?: string[];
  @Field(() => [String], { nullable: true }) dropouts?: string[];
  @Field(() => Float, { nullable: true }) seconds?: number;
  @Field() at!: string;
}
