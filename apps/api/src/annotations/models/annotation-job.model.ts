import { ApiSchema, ApiProperty } from '@nestjs/swagger';
import { Field, Float, ID, ObjectType } from '@nestjs/graphql';
import { JobStatus } from '../../graphql/enums';
import { JSONValue } from '../../graphql/json.scalar';

@ApiSchema({ name: 'AnnotationJob' })
@ObjectType('AnnotationJob', { description: 'Annotation of an uploaded query file with a model version.' })
export class AnnotationJob {
  @ApiProperty({ format: 'uuid' })
  @Field(() => ID)
  id!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null: submitted by an admin' })
  @Field(() => ID, { nullable: true })
  institutionId!: string | null;

  @ApiProperty({ format: 'uuid' })
  @Field(() => ID)
  consortiumId!: string;

  @ApiProperty({ format: 'uuid' })
  @Field(() => ID)
  modelVersionId!: string;

  @ApiProperty({ enum: ['queued', 'running', 'completed', 'failed'] })
  @Field(() => JobStatus)
  status!: JobStatus;

  @ApiProperty()
  @Field()
  inputFileName!: string;

  @ApiProperty()
  @Field()
  inputSha256!: string;

  @ApiProperty({ type: 'object', additionalProperties: true })
  @Field(() => JSONValue, {
    description: '{ "result.txt": { key, sha256 }, "predictions.csv": { key, sha256 } }',
  })
  resultKeys!: unknown;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'cells, labelCounts, unassigned, coveredGenes, modelGenes, seconds, and autoThresholds when autoReject (with autoNovelGroup when the query held a separate low-confidence group)',
  })
  @Field(() => JSONValue, {
    description:
      'cells, labelCounts, unassigned, coveredGenes, modelGenes, seconds, and autoThresholds when autoReject (with autoNovelGroup when the query held a separate low-confidence group)',
  })
  summary!: unknown;

  @ApiProperty({ type: Number, nullable: true })
  @Field(() => Float, { nullable: true })
  rejectThreshold!: number | null;

  @ApiProperty({
    description: 'rejectThreshold "auto": a threshold per predicted type, chosen from the query itself',
  })
  @Field({
    description: 'rejectThreshold "auto": a threshold per predicted type, chosen from the query itself',
  })
  autoReject!: boolean;

  @ApiProperty({ type: String, nullable: true })
  @Field(() => String, { nullable: true })
  error!: string | null;

  @ApiProperty()
  @Field()
  createdAt!: Date;

  @ApiProperty({ type: Date, nullable: true })
  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;
}

/** What POST /annotations answers (202). */
@ApiSchema({ name: 'AnnotationAccepted' })
export class AnnotationAccepted {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['queued'] }) status!: string;
}
