import { Field, ID, ObjectType } from '@nestjs/graphql';
import { InstitutionStatus } from '../../graphql/enums';

@ObjectType('Institution', {
  description: 'A member of a consortium (hospital, lab) with its own data and worker.',
})
export class Institution {
  @Field(() => ID) id!: string;
  @Field(() => ID) consortiumId!: string;
  @Field({ description: 'Certificate common name and queue name: lower-case letters, digits, dashes.' })
  name!: string;
  @Field() displayName!: string;
  @Field(() => InstitutionStatus) status!: InstitutionStatus;
  @Field(() => String, { nullable: true }) certificatePem!: string | null;
  @Field(() => String, { nullable: true }) certificateSerial!: string | null;
  @Field(() => Date, { nullable: true }) certifiedAt!: Date | null;
  @Field({ description: "Redis user of the institution's worker." }) queueUser!: string;
  @Field() createdAt!: Date;
  // Computed by InstitutionsResolver: certificateExpiresAt, lastSeenAt, lastBackend, lastRound,
  // workerOnline (they need the database, Redis or parsing, not a column).
}
