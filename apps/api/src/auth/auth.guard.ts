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
    const req = requestOf(context) as GuardedRequest;
    const header = req.headers.authorization;
    // A subscription's token was counted at connection_init; its subscriptions do not count it again.
    const client = req.authCountedAtConnect ? undefined : clientKey(req);
    try {
      req.principal ??= await this.tokens.authenticate(Array.isArray(header) ? header[0] : header, client);
    } catch (e) {
      // REST and GraphQL over HTTP answer with the response's Retry-After, as for any 429.
      if (e instanceof TooManyAuthFailures) req.res?.setHeader('Retry-After', String(e.retryAfterSeconds));
      throw e;
    }
    return true;
  }
}

type GuardedRequest = ReturnType<typeof requestOf> &
  ClientRequest & {
    /** Express's response, where Retry-After goes (absent on a subscription's request). */
    res?: { setHeader(name: string, value: string): unknown };
    authCountedAtConnect?: boolean;
  };
