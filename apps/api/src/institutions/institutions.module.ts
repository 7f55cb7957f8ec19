import { Module } from '@nestjs/common';
import { CaVaultModule } from '../consortia/ca-vault.module';
import { DatasetsModule } from '../datasets/datasets.module';
import { InstitutionActivityService } from './institution-activity.service';
import { InstitutionsResolver } from './institutions.resolver';
import { InstitutionsService } from './institutions.service';
import { WorkerPresenceService } from './worker-presence.service';

@Module({
  imports: [CaVaultModule, DatasetsModule],
  providers: [InstitutionsService, InstitutionsResolver, InstitutionActivityService, WorkerPresenceService],
  exports: [InstitutionsService],
})
export class InstitutionsModule {}
