import { Field, ID, ObjectType } from '@nestjs/graphql';

@ObjectType('Me', { description: 'Who the token belongs to.' })
export class Me {
  @Field({ description: "'operator', 'admin' or 'member'" }) kind!: string;
  @Field(() => ID, { nullable: true }) consortiumId!: string | null;
  @Field(() => ID, { nullable: true }) institutionId!: string | null;
  @Field(() => String, { nullable: true }) institutionName!: string | null;
  @Field(() => ID, { nullable: true }) tokenId!: string | null;
}
