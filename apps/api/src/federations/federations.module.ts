import { Module } from '@nestjs/common';
import { FederationEventsService } from './federation-events.service';
import { FederationsResolver } from './federations.resolver';
import { FederationsService } from './federations.service';
import { TrainingPresetsResolver } from './training-presets.resolver';

@Module({
  providers: [FederationsService, FederationEventsService, FederationsResolver, TrainingPresetsResolver],
  exports: [FederationsService],
})
export class FederationsModule {}
