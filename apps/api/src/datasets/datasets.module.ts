import { Module } from '@nestjs/common';
import { DatasetsController } from './datasets.controller';
import { DatasetsResolver } from './datasets.resolver';
import { DatasetsService } from './datasets.service';

@Module({
  controllers: [DatasetsController],
  providers: [DatasetsService, DatasetsResolver],
  exports: [DatasetsService],
})
export class DatasetsModule {}
