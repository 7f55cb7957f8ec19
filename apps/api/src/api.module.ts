import { Module, type DynamicModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { AnnotationsModule } from './annotations/annotations.module';
import { AuthModule } from './auth/auth.module';
import type { ApiConfig } from './config/api-config';
import { ConfigModule } from './config/config.module';
import { ConsortiaModule } from './consortia/consortia.module';
import { DatasetsModule } from './datasets/datasets.module';
import { FederationsModule } from './federations/federations.module';
import { graphqlOptions } from './graphql/graphql-options';
import { GraphqlSupportModule } from './graphql/graphql.module';
import { HealthModule } from './health/health.module';
import { InfraModule, type InfraOverrides } from './infra/infra.module';
import { InstitutionsModule } from './institutions/institutions.module';
import { ModelsModule } from './models/models.module';
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
        GraphQLModule.forRoot(graphqlOptions()),
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
