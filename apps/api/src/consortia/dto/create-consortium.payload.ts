import { Field, ObjectType } from '@nestjs/graphql';
import { Consortium } from '../models/consortium.model';

@ObjectType('CreateConsortiumPayload')
export class CreateConsortiumPayload {
  @Field(() => Consortium) consortium!: Consortium;
  @Field({ description: "The first administrator's token. Shown once: keep it safe." })
  adminToken!: string;
}
