import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApiApp } from './app';
import { ConfigError, parseApiConfig, type ApiConfig } from './config/api-config';

/** Reads the configuration; a bad one stops the process with one line and exit code 2. */
function configOrExit(): ApiConfig {
  try {
    return parseApiConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

const config = configOrExit();
const app = await createApiApp(config);
await app.listen(config.port, config.host);
new Logger('scprivacy-api').log(
  `listening on ${await app.getUrl()} (GraphQL /graphql, REST /api/v1, docs /api/docs)`,
);
