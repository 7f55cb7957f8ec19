import { Field, ID, ObjectType } from '@nestjs/graphql';

@ObjectType('Consortium', { description: 'A group of institutions that train models together.' })
export class Consortium {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field({ description: "The consortium's X.509 root certificate (PEM); its key never leaves the api." })
  caCertificatePem!: string;
  @Field() createdAt!: Date;
}
