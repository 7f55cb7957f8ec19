import { Field, ID, ObjectType } from '@nestjs/graphql';

@ObjectType('Consortium', { description: 'A group of institutions that train models together.' })
export class Consortium {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field({ description: "The consortium's X.509 root certificate (PEM); its key never leaves the api." })
  caCertificatePem!: string;
  @Field({
    description:
      "Whether members see every institution's per-round losses and timings and landmark sets (false: only their own institution's, besides the round's meanLoss and aggregator timings). Admins always see all; set with updateConsortiumSettings.",
  })
  membersSeeInstitutionRounds!: boolean;
  @Field() createdAt!: Date;
}
