import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { FederationStatus } from '../../graphql/enums';
import { JSONValue } from '../../graphql/json.scalar';

@ObjectType('Federation', { description: 'One federated training run of a consortium.' })
export class Federation {
  @Field(() => ID) id!: string;
  @Field(() => ID) consortiumId!: string;
  @Field() name!: string;
  @Field(() => FederationStatus) status!: FederationStatus;
  @Field(() => JSONValue, {
    description:
      'rounds, localSteps, learningRate, hiddenSize, embeddingSize, weighting, secureAggregation (whether it is used), ' +
      'secureAggregationSkipped ({ reason, message } when it was asked for but not used: one institution), threshold, ' +
      'secaggBits (8, 16 or 32: lane width of the masked updates), roundDeadlineSeconds, allowSingletonTypes, ' +
      'checkpointEvery (model versions kept: every k-th round), preset (the training preset named at the start, if any)',
  })
  options!: unknown;
  @Field(() => Int) seed!: number;
  @Field(() => JSONValue, { description: '[{ institution, datasetIds }] in the federation order' })
  participants!: unknown;
  @Field(() => Int, { nullable: true, description: 'Size of the gene union, once built.' })
  geneCount!: number | null;
  @Field(() => Int) currentRound!: number;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}
