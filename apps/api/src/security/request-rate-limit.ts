import type { NextFunction, Request, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { clientKey } from './client-address';

/**
 * Express middleware: at most `perMinute` requests per client address and minute, on every route,
 * before any body is read. Generous by default (uploads, polling and GraphQL of a real client stay
 * far below it); it stops floods, not use. 0 turns it off. Health probes are never counted:
 * Kubernetes must always be able to ask.
 */
export function requestRateLimit(perMinute: number) {
  if (perMinute <= 0) return (_req: Request, _res: Response, next: NextFunction) => next();
  const limiter = new RateLimiterMemory({ keyPrefix: 'requests', points: perMinute, duration: 60 });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path.startsWith('/health/')) return next();
    limiter.consume(clientKey(req)).then(
      () => next(),
      (rejection: unknown) => {
        if (!(rejection instanceof RateLimiterRes)) return next(rejection);
        const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        res
          .status(429)
          .set('Retry-After', String(seconds))
          .json({
            statusCode: 429,
            message: `Too many requests from this address (limit ${perMinute} a minute); try again in ${seconds} s.`,
          });
      },
    );
  };
}
