import { ApiSchema, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** OpenAPI description of POST /institutions/:name/datasets/site (validated with zod in the service). */
@ApiSchema({ name: 'SiteDataset' })
export class SiteDatasetDto {
  @ApiProperty({ example: 'wang-2021' }) name!: string;
  @ApiProperty({ example: '/data/references/wang.h5ad', description: 'absolute path on the site' })
  path!: string;
  @ApiProperty({ example: 5120 }) cells!: number;
  @ApiProperty({ example: 18000 }) genes!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'must add up to cells',
  })
  typeCounts!: Record<string, number>;
  @ApiProperty({ description: 'sha256 of the file (64 hex digits)' }) sha256!: string;
  @ApiPropertyOptional({ description: 'file size in bytes' }) sizeBytes?: number;
}
