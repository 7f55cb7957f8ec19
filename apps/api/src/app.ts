import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ApiModule } from './api.module';
import { DependencyUnavailableFilter } from './common/dependency-unavailable.filter';
import { dependencyPorts } from './common/unreachable-dependency';
import type { ApiConfig } from './config/api-config';
import type { InfraOverrides } from './infra/infra.module';
import { graphiqlScriptHashes } from './security/graphiql-csp';
import { createLogger, processLoggerSettings } from './security/logger';
import { requestRateLimit } from './security/request-rate-limit';
import { securityHeaders } from './security/security-headers';
import { compileTrustProxy } from './security/trust-proxy';

export interface CreateApiOptions extends InfraOverrides {
  /** Nest's logger; false silences it (tests). */
  logger?: false | LogLevel[];
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
  const levels = options.logger ?? ['log', 'error', 'warn'];
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config, options), {
    logger: levels === false ? false : createLogger(processLoggerSettings(config.http.logFormat, levels)),
  });
  app.enableShutdownHooks();
  // Registered before anything else (body parsers, routes, Swagger, GraphQL): every answer,
  // errors and 404s included, carries the headers, and a flood is refused before it is read.
  app.disable('x-powered-by');
  app.set('trust proxy', compileTrustProxy(config.http.trustProxy));
  app.use(
    securityHeaders({
      hstsMaxAgeSeconds: config.http.hstsMaxAgeSeconds,
      graphiqlScriptHashes: config.http.graphqlIntrospection
        ? await graphiqlScriptHashes('/graphql')
        : undefined,
    }),
  );
  app.use(requestRateLimit(config.http.rateLimitPerMinute));
  // Postgres, Redis or the object store unreachable: 503 "try again later", not a 500.
  app.useGlobalFilters(new DependencyUnavailableFilter(dependencyPorts(config), app.getHttpAdapter()));
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
