import { HttpException, HttpStatus } from '@nestjs/common';
import { RateLimiterMemory } from 'rate-limiter-flexible';

/** 429 for a client that sent too many unknown tokens; the caller sets Retry-After from it. */
export class TooManyAuthFailures extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(
      `Too many failed sign-ins from this address; try again in ${retryAfterSeconds} s.`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * Counts failed token authentications per client address, so guessing tokens costs a block
 * instead of 300 tries a second. Only failures count: a client with a valid token is never slowed
 * down by its own use. Once a client has `maxFailures` failures within a minute, every token it
 * presents (valid or not) is refused for `blockSeconds` *before* it is checked, so a guess that
 * happens to be right cannot be told apart during the block.
 *
 * Counters live in this process's memory (keys expire after a minute): with several api
 * replicas each one counts on its own, so the effective limit is per replica.
 */
export class AuthFailureLimiter {
  private readonly limiter?: RateLimiterMemory;

  constructor(
    private readonly maxFailures: number,
    private readonly blockSeconds: number,
  ) {
    if (maxFailures > 0) {
      this.limiter = new RateLimiterMemory({ keyPrefix: 'auth-failures', points: maxFailures, duration: 60 });
    }
  }

  /** Throws TooManyAuthFailures while `client` is blocked. */
  async assertAllowed(client: string): Promise<void> {
    const state = await this.limiter?.get(client);
    if (state && state.consumedPoints >= this.maxFailures) {
      throw new TooManyAuthFailures(Math.max(1, Math.ceil(state.msBeforeNext / 1000)));
    }
  }

  async recordFailure(client: string): Promise<void> {
    if (!this.limiter) return;
    const state = await this.limiter.penalty(client, 1);
    if (state.consumedPoints >= this.maxFailures) await this.limiter.block(client, this.blockSeconds);
  }
}
