import { ApiSchema, ApiProperty } from '@nestjs/swagger';
import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { JSONValue } from '../../graphql/json.scalar';

@ApiSchema({ name: 'ModelVersion' })
@ObjectType('ModelVersion', {
  description: 'A stored model: weights after one round of a federation, or an imported bundle.',
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

  @ApiProperty({ enum: ['federation', 'import'] })
  @Field({ description: "'federation' or 'import'" })
  source!: string;

  @ApiProperty()
  @Field()
  createdAt!: Date;
}
