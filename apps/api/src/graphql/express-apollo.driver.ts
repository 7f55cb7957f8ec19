import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * Nest's Apollo driver mounts Apollo Server on Express through `@as-integrations/express5`,
 * which is not among our dependencies (the registry is reachable only through the lead's
 * package.json). The integration is a few lines – translate the Express request into Apollo's
 * HTTP request and copy the answer back – so it lives here; everything else (schema, plugins,
 * graphql-ws subscriptions, error mapping) is the stock driver.
 */
@Injectable()
export class ExpressApolloDriver extends ApolloDriver {
  override async registerExpress(options: ApolloDriverConfig): Promise<void> {
    const { ApolloServer: Server } = await import('@apollo/server');
    const httpAdapter = this.httpAdapterHost.httpAdapter;
    const path = options.path ?? '/graphql';
    // Apollo's landing page needs a body even on GET requests.
    httpAdapter.use(path, (req: Request, _res: Response, next: NextFunction) => {
      req.body = req.body ?? {};
      next();
    });
    const server = new Server<BaseContext>({
      ...(options as object),
      plugins: [
        ...(options.plugins ?? []),
        ApolloServerPluginDrainHttpServer({ httpServer: httpAdapter.getHttpServer() }),
      ],
    } as never);
    await server.start();
    const context = options.context as (arg: { req: Request; res: Response }) => Promise<BaseContext>;
    httpAdapter.getInstance().use(path, apolloExpressMiddleware(server, context));
    (this as unknown as { apolloServer: ApolloServer<BaseContext> }).apolloServer = server;
  }
}

function apolloExpressMiddleware(
  server: ApolloServer<BaseContext>,
  context: (arg: { req: Request; res: Response }) => Promise<BaseContext>,
) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    server
      .executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method.toUpperCase(), headers, search, body: req.body },
        context: () => context({ req, res }),
      })
      .then(async (response) => {
        for (const [key, value] of response.headers) res.setHeader(key, value);
        res.statusCode = response.status ?? 200;
        if (response.body.kind === 'complete') {
          res.send(response.body.string);
          return;
        }
        for await (const chunk of response.body.asyncIterator) res.write(chunk);
        res.end();
      })
      .catch(next);
  };
}
