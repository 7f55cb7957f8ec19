import { Field, Float, ID, InputType, Int, registerEnumType } from '@nestjs/graphql';

export enum Weighting {
  uniform = 'uniform',
  numExamples = 'numExamples',
}
registerEnumType(Weighting, {
  name: 'Weighting',
  description: "How institutions' updates are averaged: 'uniform' (published default) or by number of cells.",
});

@InputType('ParticipantDatasetsInput', {
  description: 'Which of an institution’s datasets take part (default: all of them).',
})
export class ParticipantDatasetsInput {
  @Field() institution!: string;
  @Field(() => [ID]) datasetIds!: string[];
}

@InputType('StartFederationInput')
export class StartFederationInput {
  @Field(() => ID) consortiumId!: string;
  @Field() name!: string;
  @Field(() => [String], { description: 'Institution names; their order is the federation order.' })
  institutions!: string[];
  @Field(() => [ParticipantDatasetsInput], { nullable: true })
  datasets?: ParticipantDatasetsInput[];
  @Field(() => String, {
    nullable: true,
    description:
      "A training preset's name (trainingPresets): it supplies rounds, localSteps and learningRate when they are left out. Every preset of the command line.",
  })
  preset?: string | null;
  // No GraphQL defaults: a preset's values apply only to what the caller left out (null).
  @Field(() => Int, { nullable: true, description: "Default: the preset's, else 300 (published)." })
  rounds?: number | null;
  @Field(() => Int, { nullable: true, description: "Default: the preset's, else 1 (published)." })
  localSteps?: number | null;
  @Field(() => Float, { nullable: true, description: "Default: the preset's, else 0.0005 (published)." })
  learningRate?: number | null;
  @Field(() => Int, {
    nullable: true,
    description:
      "Genes of largest normalised dispersion per institution: the model trains on this many times the institutions (at most the union), chosen before the first round from the institutions' summed gene scores (through secure aggregation when it is on); 0: every gene. Default: the preset's (2000 for variable-genes), else 0. At least 50 when not 0.",
  })
  variableGenes?: number | null;
  @Field(() => Int, {
    nullable: true,
    description:
      "With variableGenes: each institution's share of the genes is at most this many per reference cell (from the cell count it reports), so a small reference trains on fewer genes; 0: no cap. Default: the preset's, else 0. At most 10000.",
  })
  variableGenesPerCell?: number | null;
  @Field(() => Int, {
    nullable: true,
    description:
      "With variableGenes: each institution's share of the genes is at most one per this many values its reference cells detect (from the count it reports), so a sparse (droplet) reference trains on fewer genes than a dense one of as many cells; 0: no cap. Default: the preset's, else 0. At most 1000000.",
  })
  detectedValuesPerGene?: number | null;
  @Field(() => Int, {
    nullable: true,
    description:
      "Models trained side by side, each from its own seed, their landmark correlations averaged at annotation (1 to 16). Default: the preset's (3 for ensemble and variable-genes-ensemble), else 1.",
  })
  ensembleSize?: number | null;
  @Field(() => Float, {
    nullable: true,
    description:
      "Gene dropout while training: each detected value of a training cell is zeroed with this probability in a local step (0 to 0.9). Default: the preset's, else 0.",
  })
  inputDropout?: number | null;
  @Field(() => Float, {
    nullable: true,
    description:
      "Apply the gene dropout only at institutions whose cells detect at least this fraction of their genes (0 to 1; each institution decides on its own cells). Default: the preset's, else 0 (every institution).",
  })
  inputDropoutMinDetection?: number | null;
  @Field(() => Int, { defaultValue: 0 }) seed!: number;
  @Field(() => Int, { defaultValue: 500 }) hiddenSize!: number;
  @Field(() => Int, { defaultValue: 20 }) embeddingSize!: number;
  @Field(() => Weighting, { defaultValue: Weighting.uniform }) weighting!: Weighting;
  @Field({
    defaultValue: true,
    description:
      'Mask institutions’ parameters so the aggregator sees only their sum. With one institution there is nothing to aggregate: it trains without, and the federation’s options record secureAggregationSkipped.',
  })
  secureAggregation!: boolean;
  @Field(() => Int, {
    nullable: true,
    description: 'Institutions needed for a round to complete (default: a majority).',
  })
  threshold?: number | null;
  @Field(() => Int, {
    defaultValue: 16,
    description:
      'Bits per masked update value under secure aggregation: 16 (2 bytes per parameter each way, a resolution of ~0.07% of the learning rate for 3 institutions), 32, or 8 (coarser).',
  })
  secaggBits!: number;
  @Field(() => Int, { defaultValue: 600 }) roundDeadlineSeconds!: number;
  @Field(() => Int, {
    nullable: true,
    description:
      'Model versions kept: the final one, every checkpointEvery-th round, the latest round while it runs, and pinned ones. 1 to rounds; default ceil(rounds / 10), at most 10 checkpoints.',
  })
  checkpointEvery?: number | null;
  @Field({
    defaultValue: false,
    description:
      'Train on cell types with at least 2 cells and keep single-cell types for landmarks only (the published behaviour); otherwise a single-cell type is an error.',
  })
  allowSingletonTypes!: boolean;
}
