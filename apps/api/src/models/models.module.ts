import { Module } from '@nestjs/common';
import { FederationsModule } from '../federations/federations.module';
import { UploadValidator } from '../validation/upload-validator';
import { ModelVersionsService } from './model-versions.service';
import { ModelsController } from './models.controller';
import { FederationModelsResolver, ModelVersionsResolver } from './models.resolver';

@Module({
  imports: [FederationsModule],
  controllers: [ModelsController],
  // Imported bundles are checked in validation threads of their own (a second pool beside the
  // datasets'), so a big bundle does not queue behind dataset uploads or the other way round.
  providers: [ModelVersionsService, ModelVersionsResolver, FederationModelsResolver, UploadValidator],
  exports: [ModelVersionsService],
})
export class ModelsModule {}
