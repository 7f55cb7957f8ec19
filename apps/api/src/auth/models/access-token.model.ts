import { Field, ID, ObjectType } from '@nestjs/graphql';
import { Role } from '../../graphql/enums';

@ObjectType('AccessToken', { description: 'An API token (its secret is shown once, when created).' })
export class AccessToken {
  @Field(() => ID) id!: string;
  @Field(() => ID) consortiumId!: string;
  @Field(() => ID, { nullable: true }) institutionId!: string | null;
  @Field(() => Role) role!: Role;
  @Field() label!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) lastUsedAt!: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}
