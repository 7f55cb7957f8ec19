/**
 * BullMQ's Lua scripts in Redis' script cache, loaded by the platform.
 *
 * Institution workers may run EVALSHA but not EVAL (worker-commands.ts): arbitrary Lua runs
 * inside Redis' single thread, so one `while true do end` from a worker's credentials would stall
 * Redis for every tenant. Workers can therefore only call scripts already in the cache, and the
 * platform (the aggregator, on its admin connection) puts exactly BullMQ's scripts there: at
 * start, on every (re)connect (a restarted Redis has an empty cache) and when a periodic
 * SCRIPT EXISTS finds them gone (SCRIPT FLUSH leaves the connection up).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

export interface BullmqScript {
  /** BullMQ's command name, e.g. `moveToFinished` (its ioredis command adds `:<version>`). */
  name: string;
  /** SHA-1 of the Lua source: what ioredis sends with EVALSHA. */
  sha: string;
  lua: string;
}

interface ScriptModule {
  name: string;
  content: string;
  keys: number;
}

let cached: readonly BullmqScript[] | undefined;

/**
 * The scripts the installed BullMQ defines on every connection (RedisConnection.loadCommands
 * reads the same module), with the SHA-1 ioredis computes for EVALSHA.
 */
export function bullmqScripts(): readonly BullmqScript[] {
  if (!cached) {
    // BullMQ does not export its script list; its CommonJS build is the one deep path that
    // resolves under Node (the ESM build's imports have no file extensions).
    const require = createRequire(import.meta.url);
    const modules = require('bullmq/dist/cjs/scripts/index.js') as Record<string, ScriptModule>;
    cached = Object.values(modules)
      .filter((m) => typeof m?.content === 'string' && typeof m.name === 'string')
      .map((m) => ({
        name: m.name,
        lua: m.content,
        sha: createHash('sha1').update(m.content).digest('hex'),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  return cached;
}

/** SCRIPT LOADs every BullMQ script (idempotent); returns how many were not cached before. */
export async function loadBullmqScripts(admin: Redis): Promise<number> {
  const scripts = bullmqScripts();
  const present = (await admin.call('SCRIPT', 'EXISTS', ...scripts.map((s) => s.sha))) as number[];
  const missing = scripts.filter((_, i) => present[i] !== 1);
  if (missing.length === 0) return 0;
  const pipeline = admin.pipeline();
  for (const s of missing) pipeline.call('SCRIPT', 'LOAD', s.lua);
  const replies = (await pipeline.exec()) ?? [];
  replies.forEach(([error, sha], i) => {
    if (error) throw new Error(`SCRIPT LOAD of BullMQ's ${missing[i].name}: ${error.message}`);
    // Redis hashes the bytes it received; a mismatch would leave workers waiting on NOSCRIPT.
    if (sha !== missing[i].sha) throw new Error(`SCRIPT LOAD of ${missing[i].name} answered ${String(sha)}`);
  });
  return missing.length;
}

export interface ScriptKeeperOptions {
  /** How often SCRIPT EXISTS checks the cache between reconnects (default 10 s; 0: never). */
  checkIntervalMs?: number;
  /** Told how many scripts were (re)loaded, and of failures (Redis away: the next 'ready' retries). */
  log?: (message: string) => void;
}

export interface ScriptKeeper {
  /** Resolves once the first load has been tried (successfully or not). */
  readonly ready: Promise<void>;
  stop(): void;
}

/**
 * Keeps BullMQ's scripts in the cache of the Redis behind `admin`: loads them now, on every
 * 'ready' of the connection (after a Redis restart) and when the periodic check finds any missing.
 */
export function keepBullmqScriptsLoaded(admin: Redis, opts: ScriptKeeperOptions = {}): ScriptKeeper {
  const log = opts.log ?? (() => undefined);
  const interval = opts.checkIntervalMs ?? 10_000;
  let running: Promise<void> | undefined;
  const load = (why: string): Promise<void> =>
    (running ??= loadBullmqScripts(admin)
      .then((n) => {
        if (n > 0) log(`loaded ${n} BullMQ script(s) into Redis' script cache (${why})`);
      })
      .catch((e: Error) => log(`could not load BullMQ's scripts into Redis (${why}): ${e.message}`))
      .finally(() => {
        running = undefined;
      }));
  const onReady = () => void load('Redis connection ready');
  admin.on('ready', onReady);
  const timer =
    interval > 0
      ? setInterval(() => {
          if (admin.status === 'ready') void load('periodic check');
        }, interval)
      : undefined;
  timer?.unref();
  return {
    ready: load('start'),
    stop: () => {
      admin.off('ready', onReady);
      if (timer) clearInterval(timer);
    },
  };
}
