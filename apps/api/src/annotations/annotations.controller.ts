import {
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { receiveUpload } from '../common/multipart-upload';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import { parseQuery } from '../common/validation';
import { MAX_OFFSET, MAX_PAGE, pageQueryFields } from '../graphql/page.args';
import { AnnotationsService } from './annotations.service';
import { AnnotationAccepted, AnnotationJob } from './models/annotation-job.model';

@ApiTags('annotations')
@ApiBearerAuth()
@Controller('api/v1/annotations')
export class AnnotationsController {
  constructor(
    private readonly annotations: AnnotationsService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Annotate a query file (cells x genes) with a model version',
    description: 'Poll GET /annotations/{id} until completed, then download result.txt or predictions.csv.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file', 'modelVersionId'],
      properties: {
        file: { type: 'string', format: 'binary', description: '.csv/.tsv/.txt (optionally .gz) or .h5ad' },
        modelVersionId: { type: 'string', format: 'uuid' },
        rejectThreshold: {
          type: 'string',
          description:
            'a correlation between -1 and 1: cells whose best correlation is below it are labelled "unassigned"; ' +
            'or "auto": a threshold per predicted type, chosen from the query itself (docs/algorithm.md)',
        },
      },
    },
  })
  @ApiAcceptedResponse({ type: AnnotationAccepted })
  async submit(@CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<AnnotationAccepted> {
    this.annotations.assertCanSubmit(principal);
    const upload = await receiveUpload(req, { maxBytes: this.config.uploadMaxBytes, what: 'the query file' });
    try {
      return await this.annotations.submit(principal, upload);
    } finally {
      await upload.cleanup();
    }
  }

  @Get()
  @ApiQuery({ name: 'limit', required: false, description: `1 to ${MAX_PAGE} (default 100)` })
  @ApiQuery({ name: 'offset', required: false, description: `0 to ${MAX_OFFSET} (default 0)` })
  @ApiOkResponse({ type: [AnnotationJob] })
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown): Promise<AnnotationJob[]> {
    return this.annotations.list(principal, parseQuery(pageQueryFields, query));
  }

  @Get(':id')
  @ApiOkResponse({ type: AnnotationJob })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<AnnotationJob> {
    return this.annotations.get(principal, id);
  }

  @Get(':id/result.txt')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({ summary: 'cell_id<TAB>label per query cell (the published result.txt)' })
  @ApiProduces('text/plain')
  @ApiConflictResponse({ description: 'the job has not completed' })
  async resultTxt(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<StreamableFile> {
    const data = await this.annotations.resultFile(principal, id, 'result.txt');
    return new StreamableFile(data, { disposition: 'attachment; filename="result.txt"' });
  }

  @Get(':id/predictions.csv')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @ApiOperation({ summary: 'cell_id, label, confidence, best_institution, query_file' })
  @ApiProduces('text/csv')
  @ApiConflictResponse({ description: 'the job has not completed' })
  async predictionsCsv(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<StreamableFile> {
    const data = await this.annotations.resultFile(principal, id, 'predictions.csv');
    return new StreamableFile(data, { disposition: 'attachment; filename="predictions.csv"' });
  }
}
