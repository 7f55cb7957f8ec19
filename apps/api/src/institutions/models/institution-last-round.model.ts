import { Field, ID, Int, ObjectType } from '@nestjs/graphql';

@ObjectType('InstitutionLastRound', {
  description: 'The latest round whose survivors include the institution (its update was used).',
})
export class InstitutionLastRound {
  @Field(() => ID) federationId!: string;
  @Field() federationName!: string;
  @Field(() => Int) round!: number;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}
