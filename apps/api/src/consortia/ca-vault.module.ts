import { Module } from '@nestjs/common';
import { CaVaultService } from './ca-vault.service';

@Module({ providers: [CaVaultService], exports: [CaVaultService] })
export class CaVaultModule {}
