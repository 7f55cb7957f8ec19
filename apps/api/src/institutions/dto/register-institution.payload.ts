import { Field, ObjectType } from '@nestjs/graphql';
import { Institution } from '../models/institution.model';

@ObjectType('RegisterInstitutionPayload', {
  description: "A new institution and its worker's credentials (shown once).",
})
export class RegisterInstitutionPayload {
  @Field(() => Institution) institution!: Institution;
  @Field({ description: "The institution's first access token (role member)." }) token!: string;
  @Field({ description: "Redis user of the institution's worker." }) queueUsername!: string;
  @Field({ description: 'Its Redis password. Stored nowhere: keep it safe.' }) queuePassword!: string;
}
