import type { ApolloDriverConfig } from '@nestjs/apollo';
import { Module, type DynamicModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { AnnotationsModule } from './annotations/annotations.module';
import { AuthModule } from './auth/auth.module';
import { TokenService } from './auth/token.service';
import type { ApiConfig } from './config/api-config';
import { ConfigModule } from './config/config.module';
import { ConsortiaModule } from './consortia/consortia.module';
import { DatasetsModule } from './datasets/datasets.module';
import { FederationsModule } from './federations/federations.module';
import { ExpressApolloDriver } from './graphql/express-apollo.driver';
import { graphqlOptions } from './graphql/graphql-options';
import { GraphqlSupportModule } from './graphql/graphql.module';
import { HealthModule } from './health/health.module';
import { InfraModule, type InfraOverrides } from './infra/infra.module';
import { InstitutionsModule } from './institutions/institutions.module';
import { ModelsModule } from './models/models.module';
import { SecurityModule } from './security/security.module';
import { compileTrustProxy } from './security/trust-proxy';
// The admin dashboard (static page + vega charts); it reads data only through this API.
import { DashboardModule } from '../../dashboard/src/dashboard.module';
import './graphql/enums';

@Module({})
export class ApiModule {
  static forRoot(config: ApiConfig, overrides: InfraOverrides = {}): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        InfraModule.forRoot(overrides),
        SecurityModule,
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ExpressApolloDriver,
          inject: [TokenService],
          // The subscription server checks tokens at connection_init, so it needs TokenService.
          useFactory: (tokens: TokenService) =>
            graphqlOptions({
              settings: config.http,
              tokens,
              trust: compileTrustProxy(config.http.trustProxy),
            }),
        }),
        GraphqlSupportModule,
        AuthModule,
        ConsortiaModule,
        InstitutionsModule,
        DatasetsModule,
        FederationsModule,
        ModelsModule,
        AnnotationsModule,
        HealthModule,
        DashboardModule,
      ],
    };
  }
}
