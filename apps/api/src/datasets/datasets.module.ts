import { Module } from '@nestjs/common';
import { DatasetsController } from './datasets.controller';
import { DatasetsResolver } from './datasets.resolver';
import { UploadValidator } from '../validation/upload-validator';
import { DatasetsService } from './datasets.service';

@Module({
  controllers: [DatasetsController],
  providers: [DatasetsService, DatasetsResolver, UploadValidator],
  exports: [DatasetsService],
})
export class DatasetsModule {}
