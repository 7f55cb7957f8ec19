import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { AnnotationWorker } from './annotation.worker';
import { AnnotationsController } from './annotations.controller';
import { AnnotationsResolver } from './annotations.resolver';
import { AnnotationsService } from './annotations.service';

@Module({
  imports: [ModelsModule],
  controllers: [AnnotationsController],
  providers: [AnnotationsService, AnnotationsResolver, AnnotationWorker],
})
export class AnnotationsModule {}
