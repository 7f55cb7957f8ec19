import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
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
    const req = requestOf(context);
    const header = req.headers.authorization;
    req.principal ??= await this.tokens.authenticate(Array.isArray(header) ? header[0] : header);
    return true;
  }
}
