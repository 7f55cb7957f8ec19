import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
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
import { DatasetsService } from './datasets.service';
import { SiteDatasetDto } from './dto/site-dataset.dto';
import { Dataset } from './models/dataset.model';

const listQueryFields = { institution: queryText('an institution name', 200) };

@ApiTags('datasets')
@ApiBearerAuth()
@Controller('api/v1')
export class DatasetsController {
  constructor(
    private readonly datasets: DatasetsService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  @Post('institutions/:name/datasets')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Upload a reference dataset (cells x genes with a cell_label column)',
    description:
      'Formats: .csv, .tsv, .txt (optionally .gz) or .h5ad. The file is checked before anything is stored; ' +
      'a file that cannot be read is refused with the line or field at fault.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: {
        file: { type: 'string', format: 'binary' },
        name: { type: 'string', description: 'dataset name (default: the file name without extension)' },
        allowSingletonTypes: {
          type: 'string',
          enum: ['true', 'false'],
          description: 'accept cell types with a single cell (default false, as training refuses them)',
        },
      },
    },
  })
  @ApiCreatedResponse({ type: Dataset })
  async upload(
    @CurrentPrincipal() principal: Principal,
    @Param('name') institutionName: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Dataset> {
    // A client that goes away before its answer stops the validation of its file.
    const cancelled = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) cancelled.abort();
    });
    const institution = await this.datasets.uploadTarget(principal, institutionName);
    const upload = await receiveUpload(req, {
      maxBytes: this.config.uploadMaxBytes,
      what: 'the reference file',
    });
    try {
      return await this.datasets.storeUpload(principal, institution, upload, cancelled.signal);
    } finally {
      await upload.cleanup();
    }
  }

  @Post('institutions/:name/datasets/site')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Register a dataset that stays on the site',
    description: "Only the summary is stored; the institution's worker reads the file from its path.",
  })
  @ApiBody({ type: SiteDatasetDto })
  @ApiCreatedResponse({ type: Dataset })
  async registerSite(
    @CurrentPrincipal() principal: Principal,
    @Param('name') institutionName: string,
    @Body() body: unknown,
  ): Promise<Dataset> {
    const institution = await this.datasets.uploadTarget(principal, institutionName);
    return this.datasets.registerSite(principal, institution, body);
  }

  @Get('datasets')
  @ApiOperation({ summary: "Datasets you may see (a member: its institution's; an admin: the consortium's)" })
  @ApiQuery({ name: 'institution', required: false, description: 'only this institution (by name)' })
  @ApiOkResponse({ type: [Dataset] })
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown): Promise<Dataset[]> {
    const { institution } = parseQuery(listQueryFields, query);
    return this.datasets.list(principal, { institutionName: institution });
  }

  @Get('datasets/:id')
  @ApiOkResponse({ type: Dataset })
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<Dataset> {
    return this.datasets.get(principal, id);
  }
}
