import { Field, Float, Int, ObjectType } from '@nestjs/graphql';

@ObjectType('TrainingPreset', {
  description:
    'A named training recipe of `scprivacy run --preset`; StartFederationInput.preset takes its name.',
})
export class TrainingPreset {
  @Field({ description: "The preset's name, e.g. 'published'." }) name!: string;
  @Field({ description: 'What it trains, in one line.' }) description!: string;
  @Field(() => Int) rounds!: number;
  @Field(() => Int) localSteps!: number;
  @Field(() => Float) learningRate!: number;
  @Field(() => Int, { description: 'Models trained with different seeds (1: a single model).' })
  ensembleSize!: number;
  @Field(() => Int, {
    description:
      'Genes of largest normalised dispersion per institution the model trains on (times the institutions; 0: every gene of the institutions), chosen before training from the institutions’ summed gene scores.',
  })
  variableGenes!: number;
  @Field(() => Int, {
    description:
      "With variableGenes: each institution's share of the genes is at most this many per reference cell (0: no cap).",
  })
  variableGenesPerCell!: number;
  @Field(() => Int, {
    description:
      "With variableGenes: each institution's share of the genes is at most one per this many values its reference cells detect (0: no cap).",
  })
  detectedValuesPerGene!: number;
  @Field(() => Float, {
    description:
      'Gene dropout while training: the probability that a detected value of a training cell is zeroed in a local step (0: none, the published method).',
  })
  inputDropout!: number;
  @Field(() => Float, {
    description:
      'The gene dropout applies only at institutions whose cells detect at least this fraction of their genes (plate-based data); 0: at every institution.',
  })
  inputDropoutMinDetection!: number;
  @Field({
    description:
      'Whether a federation may use it. Every preset can (an ensemble trains its models side by side); kept for a future preset the aggregator cannot run.',
  })
  availableOnPlatform!: boolean;
}
