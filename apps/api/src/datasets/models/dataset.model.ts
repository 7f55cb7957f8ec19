import { ApiSchema, ApiProperty } from '@nestjs/swagger';
import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { JSONValue } from '../../graphql/json.scalar';

/** One shape for GraphQL and REST (OpenAPI). */
@ApiSchema({ name: 'Dataset' })
@ObjectType('Dataset', { description: "A summary of an institution's reference dataset (never the matrix)." })
export class Dataset {
  @ApiProperty({ format: 'uuid' })
  @Field(() => ID)
  id!: string;

  @ApiProperty({ format: 'uuid' })
  @Field(() => ID)
  institutionId!: string;

  @ApiProperty({ example: 'pbmc3k_10x_v1' })
  @Field()
  name!: string;

  @ApiProperty({ example: 'pbmc3k_10x_v1.csv.gz' })
  @Field()
  fileName!: string;

  @ApiProperty({
    enum: ['upload', 'site'],
    description: "'site': a path only the institution's worker reads",
  })
  @Field({ description: "'upload' (stored by the platform) or 'site' (a path only its worker reads)" })
  location!: string;

  @ApiProperty({ type: String, nullable: true })
  @Field(() => String, { nullable: true })
  localPath!: string | null;

  @ApiProperty({ description: 'sha256 of the file (hex)' })
  @Field()
  sha256!: string;

  @ApiProperty()
  @Field(() => Float)
  sizeBytes!: number;

  @ApiProperty({ description: 'number of cells' })
  @Field(() => Int)
  cells!: number;

  @ApiProperty({ description: 'number of genes' })
  @Field(() => Int)
  genes!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { 'CD4+ T cell': 120, 'B cell': 60 },
  })
  @Field(() => JSONValue, { description: '{ "<cell type>": number of cells }' })
  typeCounts!: Record<string, number>;

  @ApiProperty()
  @Field()
  createdAt!: Date;
}
