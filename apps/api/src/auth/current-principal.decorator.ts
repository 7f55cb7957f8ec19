import { createParamDecorator, InternalServerErrorException, type ExecutionContext } from '@nestjs/common';
import type { Principal } from './principal';
import { requestOf } from './request-context';

/** The caller proven by AuthGuard. A missing one is a wiring bug (a backstop, not the check). */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = requestOf(context).principal;
    if (!principal) throw new InternalServerErrorException('no authenticated principal on this request');
    return principal;
  },
);
