import { Module } from '@nestjs/common';
import { FederationEventsService } from './federation-events.service';
import { FederationsResolver } from './federations.resolver';
import { FederationsService } from './federations.service';

@Module({
  providers: [FederationsService, FederationEventsService, FederationsResolver],
  exports: [FederationsService],
})
export class FederationsModule {}
