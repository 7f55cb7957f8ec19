import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessTokensService } from './access-tokens.service';
import { AuditService } from './audit.service';
import { AuthGuard } from './auth.guard';
import { AuthResolver } from './auth.resolver';
import { TokenService } from './token.service';

@Global()
@Module({
  providers: [
    TokenService,
    AuditService,
    AccessTokensService,
    AuthResolver,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenService, AuditService],
})
export class AuthModule {}
