import { Module } from '@nestjs/common';
import { FederationsModule } from '../federations/federations.module';
import { InstitutionsModule } from '../institutions/institutions.module';
import { CaVaultModule } from './ca-vault.module';
import { ConsortiaResolver } from './consortia.resolver';
import { ConsortiaService } from './consortia.service';

@Module({
  imports: [CaVaultModule, InstitutionsModule, FederationsModule],
  providers: [ConsortiaService, ConsortiaResolver],
})
export class ConsortiaModule {}
