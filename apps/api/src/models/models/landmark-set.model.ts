import { Field, ID, Int, ObjectType } from '@nestjs/graphql';

@ObjectType('LandmarkSet', {
  description: "One institution's cell-type landmarks in a model's embedding space.",
})
export class LandmarkSet {
  @Field(() => ID) id!: string;
  @Field(() => ID, { nullable: true }) federationId!: string | null;
  @Field(() => ID) modelVersionId!: string;
  @Field() institution!: string;
  @Field(() => Int, {
    description: 'Which model of an ensemble it belongs to (0: the first, or the only one).',
  })
  member!: number;
  @Field() sha256!: string;
  @Field(() => [String]) types!: string[];
  @Field(() => [Int]) cellCounts!: number[];
  @Field() createdAt!: Date;
}
