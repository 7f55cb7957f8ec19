import { Module } from '@nestjs/common';
import { FederationsModule } from '../federations/federations.module';
import { ModelVersionsService } from './model-versions.service';
import { ModelsController } from './models.controller';
import { FederationModelsResolver, ModelVersionsResolver } from './models.resolver';

@Module({
  imports: [FederationsModule],
  controllers: [ModelsController],
  providers: [ModelVersionsService, ModelVersionsResolver, FederationModelsResolver],
  exports: [ModelVersionsService],
})
export class ModelsModule {}
