import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { institutionQueueName } from '@fl/platform';
import { QUEUE_SETTINGS, REDIS, type QueueSettings } from '../infra/tokens';

/** How long a presence check may wait for Redis before the answer is "unknown". */
const PRESENCE_TIMEOUT_MS = 2000;

/** BullMQ's stand-in answer when Redis has no CLIENT command at all (e.g. GCP Memorystore). */
const NO_CLIENT_LIST = 'GCP does not support client list';

/**
 * Whether an institution's trainer worker is connected to its queue now, as the aggregator asks
 * before each round (BullMQ lists a queue's workers by their connection names, CLIENT LIST).
 */
@Injectable()
export class WorkerPresenceService implements OnModuleDestroy {
  private readonly logger = new Logger('WorkerPresence');
  /** One probe per institution queue, on the api's shared connection (a Queue opens none of its own). */
  private readonly probes = new Map<string, Queue>();
  private warned = false;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(QUEUE_SETTINGS) private readonly queues: QueueSettings,
  ) {}

  /**
   * true / false, or null when it cannot be known: Redis refuses CLIENT LIST (an ACL without
   * it, a managed Redis without the command) or does not answer in time. An answer about one
   * institution's worker must not fail the whole query.
   */
  async workerOnline(institution: string): Promise<boolean | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), PRESENCE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.ask(institution), timeout]);
    } catch (e) {
      // Once: a Redis that refuses CLIENT LIST refuses it at every query.
      if (!this.warned) {
        this.warned = true;
        this.logger.warn(
          `workerOnline is unknown (null): asking Redis for the workers of ${institution} failed: ${(e as Error).message}`,
        );
      }
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  async onModuleDestroy(): Promise<void> {
    // The probes share the api's connection, which InfraModule closes after every module.
    await Promise.all([...this.probes.values()].map((q) => q.close().catch(() => undefined)));
    this.probes.clear();
  }

  private async ask(institution: string): Promise<boolean | null> {
    const workers = await this.probe(institution).getWorkers();
    if (workers.some((w) => w.name === NO_CLIENT_LIST)) return null;
    return workers.length > 0;
  }

  private probe(institution: string): Queue {
    let queue = this.probes.get(institution);
    if (!queue) {
      queue = new Queue(institutionQueueName(institution), {
        connection: this.redis,
        prefix: this.queues.prefix,
      });
      // A failing connection is reported by the call that needed it (above), not as an event.
      queue.on('error', () => undefined);
      this.probes.set(institution, queue);
    }
    return queue;
  }
}
