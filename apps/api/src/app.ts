import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ApiModule } from './api.module';
import type { ApiConfig } from './config/api-config';
import type { InfraOverrides } from './infra/infra.module';

export interface CreateApiOptions extends InfraOverrides {
  /** Nest's logger; false silences it (tests). */
  logger?: false | ('log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal')[];
}

/**
 * The api application, configured but not listening: main.ts listens on API_HOST:API_PORT,
 * tests on port 0. REST under /api/v1 (OpenAPI at /api/docs and /api/docs-json), GraphQL and its
 * subscriptions at /graphql, probes at /health/live and /health/ready.
 */
export async function createApiApp(
  config: ApiConfig,
  options: CreateApiOptions = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(ApiModule.forRoot(config, options), {
    logger: options.logger ?? ['log', 'error', 'warn'],
  });
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('scPrivacy platform API')
      .setDescription(
        'Reference datasets, model versions and annotation jobs of a federated cell-type annotation consortium. ' +
          'Consortia, institutions and federations are managed through GraphQL at /graphql.',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
    {
      // esbuild renames `class X` in `let X = class X` (what decorators compile to) to X2, so
      // class names are not names: GraphQL and OpenAPI types are named explicitly, and so are ids.
      operationIdFactory: (controller: string, method: string) =>
        `${controller.replace(/Controller\d*$/, '')}_${method}`,
    },
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  return app;
}
