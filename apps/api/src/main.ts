import 'reflect-metadata';
import type { Server } from 'node:http';
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
// Slow-drip requests: a client trickling its headers or body would hold a socket (and an upload's
// temporary file) for as long as it likes. Node checks these every 30 s, so a cut comes up to 30 s
// late. Node wants the headers' limit no larger than the whole request's.
const server = app.getHttpServer() as Server;
server.requestTimeout = config.requestTimeoutSeconds * 1000;
server.headersTimeout =
  config.requestTimeoutSeconds > 0
    ? Math.min(config.headersTimeoutSeconds, config.requestTimeoutSeconds) * 1000
    : config.headersTimeoutSeconds * 1000;
await app.listen(config.port, config.host);
new Logger('scprivacy-api').log(
  `listening on ${await app.getUrl()} (GraphQL /graphql, REST /api/v1, docs /api/docs)`,
);
