import { Global, Module } from '@nestjs/common';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import { AuthFailureLimiter } from './auth-failure-limiter';

/** The failed-authentication counter, shared by the REST/GraphQL guard and the subscription server. */
@Global()
@Module({
  providers: [
    {
      provide: AuthFailureLimiter,
      inject: [API_CONFIG],
      useFactory: (config: ApiConfig) =>
        new AuthFailureLimiter(config.http.authFailuresPerMinute, config.http.authFailureBlockSeconds),
    },
  ],
  exports: [AuthFailureLimiter],
})
export class SecurityModule {}
