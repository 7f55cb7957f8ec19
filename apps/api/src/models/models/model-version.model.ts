import { ApiSchema, ApiProperty } from '@nestjs/swagger';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { JSONValue } from '../../graphql/json.scalar';

/** What a version is to retention (@fl/platform retention.ts), or an imported bundle. */
export enum ModelVersionKind {
  final = 'final',
  checkpoint = 'checkpoint',
  latest = 'latest',
  intermediate = 'intermediate',
  imported = 'imported',
}
registerEnumType(ModelVersionKind, {
  name: 'ModelVersionKind',
  description:
    "final: the federation's last round; checkpoint: every checkpointEvery-th round, kept; latest: the last completed round of a federation still training, deleted once superseded unless pinned; intermediate: another round, kept only because it is pinned (or stored before retention); imported: an imported bundle.",
});

@ApiSchema({ name: 'ModelVersion' })
@ObjectType('ModelVersion', {
  description:
    'A stored model: weights after one round of a federation (the ones retention keeps), or an imported bundle.',
})
export class ModelVersion {
  @ApiProperty({ format: 'uuid' })
  @Field(() => ID)
  id!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  @Field(() => ID, { nullable: true })
  federationId!: string | null;

  @ApiProperty()
  @Field(() => Int)
  round!: number;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  @Field(() => ID, { nullable: true })
  parentId!: string | null;

  @ApiProperty({ description: 'sha256 of the weights (hex)' })
  @Field()
  sha256!: string;

  @ApiProperty()
  @Field(() => Float)
  sizeBytes!: number;

  @ApiProperty({ example: 'wasm' })
  @Field()
  backend!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'shape, options, genes, institutions',
  })
  @Field(() => JSONValue, { description: 'Model shape, training options, genes, institutions.' })
  manifest!: unknown;

  @ApiProperty({ description: "Models it holds: 1, or an ensemble's size (options.ensembleSize)." })
  @Field(() => Int, { description: "Models it holds: 1, or an ensemble's size (options.ensembleSize)." })
  models!: number;

  @ApiProperty({ enum: ['federation', 'import'] })
  @Field({ description: "'federation' or 'import'" })
  source!: string;

  @ApiProperty({ enum: ModelVersionKind, enumName: 'ModelVersionKind' })
  @Field(() => ModelVersionKind)
  kind!: ModelVersionKind;

  @ApiProperty({ description: 'Pinned by a consortium admin: never deleted by retention.' })
  @Field({ description: 'Pinned by a consortium admin: never deleted by retention.' })
  pinned!: boolean;

  @ApiProperty({
    description:
      'Whether GET /api/v1/model-versions/{id}/bundle can export it: it has landmark sets (a finished federation’s final model, or an imported bundle).',
  })
  @Field({
    description:
      "Whether it can be downloaded as a bundle (GET /api/v1/model-versions/{id}/bundle): it has landmark sets, which a federation's final model gets when training ends; imported bundles have them.",
  })
  exportable!: boolean;

  @ApiProperty()
  @Field()
  createdAt!: Date;
}
