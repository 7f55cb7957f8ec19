import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { federationEventsChannel, type FederationEvent } from '@fl/platform';
import { AsyncQueue } from '../common/async-queue';
import { REDIS } from '../infra/tokens';

/**
 * Relays the aggregator's progress events (Redis pub/sub) to GraphQL subscriptions. One
 * subscriber connection for the whole api (a connection in subscribe mode can do nothing else),
 * subscribed to a federation's channel while someone listens to it.
 */
@Injectable()
export class FederationEventsService implements OnModuleDestroy {
  private readonly logger = new Logger('FederationEvents');
  private subscriber?: Redis;
  private readonly listeners = new Map<string, Set<AsyncQueue<FederationEvent>>>();

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  /** Events of one federation from now on, until the iterator is closed. */
  async listen(federationId: string): Promise<AsyncIterableIterator<FederationEvent>> {
    const channel = federationEventsChannel(federationId);
    const subscriber = this.connect();
    const queue: AsyncQueue<FederationEvent> = new AsyncQueue(() => this.stopListening(channel, queue));
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await subscriber.subscribe(channel);
    }
    set.add(queue);
    return queue;
  }

  async onModuleDestroy(): Promise<void> {
    for (const set of this.listeners.values()) for (const q of [...set]) await q.return();
    this.listeners.clear();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  private connect(): Redis {
    if (this.subscriber) return this.subscriber;
    const subscriber = this.redis.duplicate();
    subscriber.on('message', (channel: string, message: string) => {
      const set = this.listeners.get(channel);
      if (!set) return;
      let event: FederationEvent;
      try {
        event = JSON.parse(message) as FederationEvent;
      } catch {
        this.logger.warn(`ignoring a malformed event on ${channel}`);
        return;
      }
      for (const q of set) q.push(event);
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  private stopListening(channel: string, queue: AsyncQueue<FederationEvent>): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    set.delete(queue);
    if (set.size === 0) {
      this.listeners.delete(channel);
      void this.subscriber?.unsubscribe(channel).catch(() => undefined);
    }
  }
}
