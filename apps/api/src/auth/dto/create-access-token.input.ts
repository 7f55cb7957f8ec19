import { Field, ID, InputType, ObjectType } from '@nestjs/graphql';
import { AccessToken } from '../models/access-token.model';
import { Role } from '../../graphql/enums';

@InputType('CreateAccessTokenInput')
export class CreateAccessTokenInput {
  @Field(() => ID) consortiumId!: string;
  @Field(() => Role) role!: Role;
  @Field(() => ID, { nullable: true, description: 'Required for role member: the institution it acts for.' })
  institutionId?: string;
  @Field({ nullable: true, description: 'What the token is for, e.g. "worker" or "Alice\'s laptop".' })
  label?: string;
}

@ObjectType('CreateAccessTokenPayload')
export class CreateAccessTokenPayload {
  @Field(() => AccessToken) accessToken!: AccessToken;
  @Field({ description: 'The token itself. Shown once: keep it safe.' }) token!: string;
}
