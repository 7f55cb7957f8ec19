import { Module } from '@nestjs/common';
import { CaVaultModule } from '../consortia/ca-vault.module';
import { DatasetsModule } from '../datasets/datasets.module';
import { InstitutionsResolver } from './institutions.resolver';
import { InstitutionsService } from './institutions.service';

@Module({
  imports: [CaVaultModule, DatasetsModule],
  providers: [InstitutionsService, InstitutionsResolver],
  exports: [InstitutionsService],
})
export class InstitutionsModule {}
