/**
 * The ioredis connection of an institution's worker: BullMQ's scripts by EVALSHA only.
 *
 * Stock ioredis sends a script's whole source with EVAL the first time it runs it on a socket,
 * and again after NOSCRIPT. Institution users may not EVAL (bullmq-scripts.ts explains why), so
 * here every script call is an EVALSHA of the script the platform loaded; NOSCRIPT (a restarted
 * or flushed Redis the platform has not refilled yet) is transient: wait, and EVALSHA again.
 */
import { Command, Redis, type RedisOptions } from 'ioredis';
import { redisOptionsFromUrl, type RedisConnectionOptions } from './connection';

/** The part of ioredis' (internal) Script object replaced here; ioredis 5 keeps it per name. */
interface IoredisScript {
  sha: string;
  numberOfKeys: number | null;
  keyPrefix: string;
  readOnly: boolean;
  execute(
    container: Container,
    args: unknown[],
    options: Record<string, unknown>,
    callback?: Callback,
  ): unknown;
}
type Callback = (error: Error | null, result?: unknown) => void;
interface Container {
  isPipeline?: boolean;
  redis?: Container;
  sendCommand(command: Command): unknown;
}

export interface ScriptWaitOptions {
  /** Called at each NOSCRIPT before waiting: the attempt (1, 2, ...) and the script's SHA-1. */
  onScriptMissing?: (attempt: number, sha: string) => void;
  /** Longest wait between EVALSHA attempts (default 5 s; it starts at 100 ms and doubles). */
  maxScriptWaitMs?: number;
}

const isNoScript = (e: unknown) => e instanceof Error && e.message.startsWith('NOSCRIPT');

function evalshaOnly(script: IoredisScript, opts: ScriptWaitOptions): void {
  const maxWait = opts.maxScriptWaitMs ?? 5_000;
  script.execute = (container, args, options, callback) => {
    if (typeof script.numberOfKeys === 'number') args.unshift(script.numberOfKeys);
    if (script.keyPrefix) options.keyPrefix = script.keyPrefix;
    if (script.readOnly) options.readOnly = true;
    const evalsha = () => new Command('evalsha', [script.sha, ...args] as string[], options);
    const first = evalsha();
    // As ioredis does for its EVAL fallback: the retries go to the connection (a pipeline has
    // been sent by then), and the first command's promise, which a pipeline reports, waits.
    first.promise = first.promise.catch(async (error: unknown) => {
      const client = container.isPipeline ? container.redis! : container;
      for (let attempt = 1; isNoScript(error); attempt++) {
        opts.onScriptMissing?.(attempt, script.sha);
        await new Promise((r) => setTimeout(r, Math.min(maxWait, 100 * 2 ** Math.min(attempt - 1, 16))));
        const again = evalsha();
        client.sendCommand(again);
        try {
          return await again.promise;
        } catch (e) {
          error = e;
        }
      }
      throw error;
    });
    if (callback) first.promise.then((r) => callback(null, r), callback);
    return container.sendCommand(first);
  };
}

/**
 * An ioredis client whose Lua commands (BullMQ's, defined with defineCommand) only ever send
 * EVALSHA; its duplicates (BullMQ's blocking connection) are alike.
 */
export class EvalshaOnlyRedis extends Redis {
  constructor(
    options: RedisOptions,
    private readonly scriptWait: ScriptWaitOptions = {},
  ) {
    super(options);
  }

  override defineCommand(
    name: string,
    definition: { lua: string; numberOfKeys?: number; readOnly?: boolean },
  ) {
    super.defineCommand(name, definition);
    const script = (this.scriptsSet as Record<string, IoredisScript | undefined>)[name];
    if (!script || typeof script.execute !== 'function') {
      throw new Error(`ioredis changed: no script object for "${name}" (EvalshaOnlyRedis needs ioredis 5)`);
    }
    evalshaOnly(script, this.scriptWait);
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new EvalshaOnlyRedis({ ...this.options, ...override }, this.scriptWait);
  }
}

/**
 * The connection of an institution's trainer worker (redisConnection(), EVALSHA only): its ACL
 * user may not EVAL, and waits on NOSCRIPT for the platform to load BullMQ's scripts.
 */
export function workerRedisConnection(
  url: string,
  opts: RedisConnectionOptions & ScriptWaitOptions = {},
): EvalshaOnlyRedis {
  return new EvalshaOnlyRedis(redisOptionsFromUrl(url, opts), opts);
}
