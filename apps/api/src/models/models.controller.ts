import {
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import type { Principal } from '../auth/principal';
import { receiveUpload } from '../common/multipart-upload';
import { parseQuery, queryText } from '../common/validation';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import { MAX_OFFSET, MAX_PAGE, pageQueryFields } from '../graphql/page.args';
import { ModelVersionsService } from './model-versions.service';
import { ModelVersion } from './models/model-version.model';

@ApiTags('models')
@ApiBearerAuth()
@Controller('api/v1/model-versions')
export class ModelsController {
  constructor(
    private readonly models: ModelVersionsService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: "Your consortium's model versions (a federation's, or imported), newest first",
    description: '`exportable` says which can be downloaded as a bundle.',
  })
  @ApiQuery({ name: 'federationId', required: false, description: "only this federation's versions" })
  @ApiQuery({ name: 'limit', required: false, description: `1 to ${MAX_PAGE} (default 100)` })
  @ApiQuery({ name: 'offset', required: false, description: `0 to ${MAX_OFFSET} (default 0)` })
  @ApiOkResponse({ type: [ModelVersion] })
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown): Promise<ModelVersion[]> {
    const { federationId, limit, offset } = parseQuery(
      { federationId: queryText('a federation id', 100), ...pageQueryFields },
      query,
    );
    return this.models.list(principal, { federationId }, { limit, offset });
  }

  @Get(':id/bundle')
  @ApiOperation({
    summary: "Download a model version as the command line's model bundle (.tar)",
    description:
      'Extract it and run `scprivacy annotate --model <folder> --test <query>`. Only versions with `exportable: true` (landmark sets) can be exported.',
  })
  @ApiProduces('application/x-tar')
  @ApiConflictResponse({ description: 'the version has no landmark sets (a training round or checkpoint)' })
  async bundle(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<StreamableFile> {
    const { fileName, stream } = await this.models.exportBundle(principal, id);
    return new StreamableFile(stream, {
      type: 'application/x-tar',
      disposition: `attachment; filename="${fileName}"`,
    });
  }

  @Post('import')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Import a model bundle made by `scprivacy run --model-dir` (a .tar or .tar.gz of its folder)',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: { file: { type: 'string', format: 'binary' } },
    },
  })
  @ApiCreatedResponse({ type: ModelVersion })
  async import(
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ModelVersion> {
    // Fail before reading the upload if the caller cannot import at all.
    this.models.visibleWhere(principal);
    // A client that goes away before its answer stops the check of its bundle (the thread ends).
    const cancelled = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) cancelled.abort();
    });
    const upload = await receiveUpload(req, {
      maxBytes: this.config.uploadMaxBytes,
      what: 'the model bundle (.tar)',
    });
    try {
      return await this.models.importBundle(
        principal,
        upload,
        {
          maxBytes: this.config.bundleMaxBytes,
          maxGenes: this.config.readLimits.maxGenes,
        },
        cancelled.signal,
      );
    } finally {
      await upload.cleanup();
    }
  }
}
