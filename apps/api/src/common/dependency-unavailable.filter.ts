import {
  Catch,
  HttpStatus,
  Logger,
  ServiceUnavailableException,
  type ArgumentsHost,
  type HttpServer,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';
import { unreachableDependency, type DependencyPorts } from './unreachable-dependency';

/**
 * Global filter: an error saying Postgres, Redis or the object store cannot be reached answers
 * 503 "<dependency> is unreachable; try again later" (a GraphQL SERVICE_UNAVAILABLE error), not
 * a 500 with Nest's stack dump in the log. The client never sees the driver's text (it can name
 * hosts, ports and connection strings); the log gets it once, on one line. Every other error goes
 * on to Nest's own handling unchanged.
 */
@Catch()
export class DependencyUnavailableFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('Dependencies');

  constructor(
    private readonly ports: DependencyPorts,
    httpAdapter: HttpServer,
  ) {
    super(httpAdapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): unknown {
    const dependency = unreachableDependency(exception, this.ports);
    const http = host.getType() === 'http';
    if (!dependency) {
      if (http) return super.catch(exception, host);
      // GraphQL and other contexts: rethrowing keeps their own error handling.
      throw exception;
    }
    const message = `${capitalised(dependency)} is unreachable; try again later.`;
    this.logger.warn(`${message} (${detail(exception)})`);
    const unavailable = new ServiceUnavailableException(message);
    if (!http) return unavailable; // Apollo's formatError maps it to SERVICE_UNAVAILABLE.
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      res.end();
      return undefined;
    }
    res.status(HttpStatus.SERVICE_UNAVAILABLE).set('retry-after', '5').json(unavailable.getResponse());
    return undefined;
  }
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** name: message [code] of the error and its causes, one line (no stack). */
function detail(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const { name, message, code } = e as { name?: string; message?: string; code?: unknown };
    parts.push(
      `${name ?? 'Error'}: ${String(message ?? '')
        .trim()
        .replace(/\s+/g, ' ')}${code ? ` [${String(code)}]` : ''}`,
    );
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(' <- ');
}
