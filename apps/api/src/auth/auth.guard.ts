import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { clientKey, type ClientRequest } from '../security/client-address';
import { TooManyAuthFailures } from '../security/auth-failure-limiter';
import { IS_PUBLIC } from './public.decorator';
import { requestOf } from './request-context';
import { TokenService } from './token.service';

/**
 * Global guard: every REST route and GraphQL operation needs a valid bearer token unless marked
 * @Public(). It proves who is calling; which tenant's data they reach is checked by the services.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const req = requestOf(context) as ReturnType<typeof requestOf> & ClientRequest & { res?: HeaderSink };
    const header = req.headers.authorization;
    try {
      req.principal ??= await this.tokens.authenticate(
        Array.isArray(header) ? header[0] : header,
        clientKey(req),
      );
    } catch (e) {
      // REST and GraphQL over HTTP answer with the response's Retry-After, as for any 429.
      if (e instanceof TooManyAuthFailures) req.res?.setHeader('Retry-After', String(e.retryAfterSeconds));
      throw e;
    }
    return true;
  }
}

/** The part of Express's response the guard writes (absent on a subscription's request). */
interface HeaderSink {
  setHeader(name: string, value: string): unknown;
}
