import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Platform, type Institution } from './support/platform';

/**
 * What an institution's worker can do to Redis with the queue credentials registerInstitution
 * hands out: its own queue's keys and BullMQ's commands, nothing else. Not other institutions'
 * keys, not the platform's queues, no keyspace listing, no configuration, no ACL, no pub/sub, no
 * MONITOR, and no arbitrary Lua (EVAL): BullMQ needs EVALSHA of the scripts the platform loaded,
 * and a CPU-bound EVAL once blocked the platform's PING for 2.2 s.
 */

let p: Platform;
let a: Institution;
let b: Institution;
const opened: Redis[] = [];

const NOPERM = /NOPERM|no permissions|can't access/i;
// DEBUG and MODULE are refused by Redis' own enable-*-command settings before the ACL.
const REFUSED = /NOPERM|no permissions|can't access|command not allowed/i;

function connectAs(inst: Institution, password = inst.queuePassword): Redis {
  const conn = new Redis({
    host: '127.0.0.1',
    port: p.redis.port,
    username: inst.queueUsername,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  conn.on('error', () => undefined);
  opened.push(conn);
  return conn;
}

const own = (suffix: string) => `scp:institution-${a.name}:${suffix}`;
const theirs = (suffix: string) => `scp:institution-${b.name}:${suffix}`;

beforeAll(async () => {
  p = new Platform({ label: 'redis' });
  await p.start();
  const x = await p.createConsortium('Redis X');
  a = await p.registerInstitution(x, 'ra');
  b = await p.registerInstitution(x, 'rb');
  await p.redisAdmin.hset(theirs('42'), 'data', '{"secret":"b-only"}');
  await p.redisAdmin.set('scp:control:id', '7');
  await p.redisAdmin.set('platform:secret', 'x');
}, 120_000);

afterAll(async () => {
  for (const c of opened) c.disconnect();
  await p?.stop();
});

describe("a worker's credentials on its own queue (what BullMQ needs keeps working)", () => {
  it('authenticates and uses its own keys', async () => {
    const w = connectAs(a);
    await w.connect();
    expect(await w.hset(own('1'), 'name', 'job')).toBe(1);
    expect(await w.hget(own('1'), 'name')).toBe('job');
    expect(await w.del(own('1'))).toBe(1);
  });
  it('may EVALSHA a script the platform loaded (BullMQ does), on its own keys', async () => {
    const sha = (await p.redisAdmin.script('LOAD', "return redis.call('EXISTS', KEYS[1])")) as string;
    const w = connectAs(a);
    await w.connect();
    expect(await w.evalsha(sha, 1, own('nothing'))).toBe(0);
  });
});

describe("a worker's credentials elsewhere: NOPERM", () => {
  const keyCommands: [string, (w: Redis) => Promise<unknown>][] = [
    ["GET of another institution's key", (w) => w.get(theirs('id'))],
    ["HGETALL of another institution's job", (w) => w.hgetall(theirs('42'))],
    ["HSET into another institution's job", (w) => w.hset(theirs('42'), 'data', 'forged')],
    ["DEL of another institution's job", (w) => w.del(theirs('42'))],
    ["LRANGE of another institution's wait list", (w) => w.lrange(theirs('wait'), 0, -1)],
    ["XADD to another institution's events", (w) => w.xadd(theirs('events'), '*', 'event', 'forged')],
    ["ZADD to another institution's delayed set", (w) => w.zadd(theirs('delayed'), 1, 'x')],
    ["BZPOPMIN on another institution's marker", (w) => w.bzpopmin(theirs('marker'), 0.1)],
    ["the platform's control queue", (w) => w.get('scp:control:id')],
    ['a key outside every queue', (w) => w.get('platform:secret')],
    ['a key that merely starts with its own name', (w) => w.set(`scp:institution-${a.name}x:1`, 'v')],
    ['its own prefix without the colon', (w) => w.set(`scp:institution-${a.name}`, 'v')],
    ['RENAME of its own key into another institution', (w) => w.rename(own('x'), theirs('x'))],
    ['COPY into another institution', (w) => w.call('COPY', own('x'), theirs('x'))],
    ['SORT ... BY a foreign pattern', (w) => w.call('SORT', own('list'), 'BY', `${theirs('*')}`)],
  ];
  const serverCommands: [string, (w: Redis) => Promise<unknown>][] = [
    ['KEYS *', (w) => w.keys('*')],
    ['SCAN 0', (w) => w.scan('0')],
    ['RANDOMKEY', (w) => w.call('RANDOMKEY')],
    ['DBSIZE', (w) => w.call('DBSIZE')],
    ['CONFIG GET *', (w) => w.call('CONFIG', 'GET', '*')],
    ['CONFIG SET maxmemory', (w) => w.call('CONFIG', 'SET', 'maxmemory', '1')],
    ['CONFIG REWRITE', (w) => w.call('CONFIG', 'REWRITE')],
    ['FLUSHALL', (w) => w.call('FLUSHALL')],
    ['FLUSHDB', (w) => w.call('FLUSHDB')],
    ['ACL LIST', (w) => w.call('ACL', 'LIST')],
    ['ACL GETUSER of another worker', (w) => w.call('ACL', 'GETUSER', b.queueUsername)],
    ['ACL SETUSER (raise itself)', (w) => w.call('ACL', 'SETUSER', a.queueUsername, '+@all', '~*')],
    ['ACL DELUSER of another worker', (w) => w.call('ACL', 'DELUSER', b.queueUsername)],
    ['MONITOR', (w) => w.call('MONITOR')],
    ['SUBSCRIBE to federation events', (w) => w.subscribe('scp:federation-events:any')],
    ['PSUBSCRIBE *', (w) => w.psubscribe('*')],
    ['PUBLISH a forged federation event', (w) => w.publish('scp:federation-events:any', '{}')],
    ['CLIENT LIST', (w) => w.call('CLIENT', 'LIST')],
    ['CLIENT KILL of the platform', (w) => w.call('CLIENT', 'KILL', 'TYPE', 'normal')],
    ['DEBUG SLEEP', (w) => w.call('DEBUG', 'SLEEP', '1')],
    ['SHUTDOWN', (w) => w.call('SHUTDOWN', 'NOSAVE')],
    ['SAVE', (w) => w.call('SAVE')],
    ['REPLICAOF', (w) => w.call('REPLICAOF', '127.0.0.1', '1')],
    ['SELECT 1', (w) => w.call('SELECT', '1')],
    ['SWAPDB', (w) => w.call('SWAPDB', '0', '1')],
    ['MODULE LOAD', (w) => w.call('MODULE', 'LOAD', '/tmp/evil.so')],
    ['SCRIPT LOAD of its own code', (w) => w.call('SCRIPT', 'LOAD', 'return 1')],
    ['SCRIPT FLUSH (would break every worker)', (w) => w.call('SCRIPT', 'FLUSH')],
    [
      'FUNCTION LOAD',
      (w) =>
        w.call('FUNCTION', 'LOAD', "#!lua name=evil\nredis.register_function('f', function() return 1 end)"),
    ],
    ['FCALL', (w) => w.call('FCALL', 'f', '0')],
    ['OBJECT ENCODING of a foreign key', (w) => w.call('OBJECT', 'ENCODING', theirs('42'))],
    ['MEMORY USAGE of a foreign key', (w) => w.call('MEMORY', 'USAGE', theirs('42'))],
  ];
  const luaCommands: [string, (w: Redis) => Promise<unknown>][] = [
    ['EVAL of arbitrary Lua (return 1)', (w) => w.eval('return 1', 0)],
    ['EVAL on its own key', (w) => w.eval("return redis.call('GET', KEYS[1])", 1, own('id'))],
    [
      "EVAL reading another institution's key",
      (w) => w.eval(`return redis.call('HGETALL', '${theirs('42')}')`, 0),
    ],
    ['EVAL_RO of arbitrary Lua', (w) => w.call('EVAL_RO', 'return 1', '0')],
    ['EVALSHA of a script nobody loaded', (w) => w.evalsha('0'.repeat(40), 0)],
  ];
  it.each([...keyCommands, ...serverCommands])('%s', async (_label, command) => {
    const w = connectAs(a);
    await w.connect();
    await expect(command(w)).rejects.toThrow(REFUSED);
    // The platform's data is untouched.
    expect(await p.redisAdmin.hget(theirs('42'), 'data')).toBe('{"secret":"b-only"}');
  });
  it.each(luaCommands)('%s', async (label, command) => {
    const w = connectAs(a);
    await w.connect();
    await expect(command(w)).rejects.toThrow(
      label.startsWith('EVALSHA') ? /NOPERM|NOSCRIPT|can't access/i : NOPERM,
    );
  });
  it("a CPU-bound EVAL is refused and does not stall the platform's PING (< 100 ms)", async () => {
    const w = connectAs(a);
    await w.connect();
    // Bounded (about 1-2 s if it ran), so even a Redis that allows it recovers by itself.
    const attack = w.eval('local n = 0 for i = 1, 200000000 do n = n + 1 end return n', 0).then(
      () => 'ran',
      (e: Error) => e.message,
    );
    await new Promise((r) => setTimeout(r, 20));
    const started = performance.now();
    await p.redisAdmin.ping();
    const pingMs = performance.now() - started;
    expect(await attack).toMatch(NOPERM);
    expect(pingMs).toBeLessThan(100);
  });
});

describe('credentials that must not work', () => {
  it.each([
    ['a wrong password', () => connectAs(a, 'not-the-password-0123456789')],
    [
      "another worker's user name with its own password",
      () => connectAs({ ...b, queuePassword: a.queuePassword }),
    ],
    ['an empty password', () => connectAs(a, '')],
  ])('%s: refused (WRONGPASS)', async (_l, make) => {
    const w = make();
    await expect(w.connect().then(() => w.ping())).rejects.toThrow(/WRONGPASS|invalid|NOAUTH|closed/i);
  });
  it("a revoked institution's queue user is gone (its connections refused)", async () => {
    const x2 = await p.createConsortium('Redis revoke');
    const r = await p.registerInstitution(x2, 'rrev');
    const before = connectAs(r);
    await before.connect();
    expect(await before.get(`scp:institution-${r.name}:id`)).toBeNull();
    await p.gqlOk(
      'mutation($id: ID!) { revokeInstitution(institutionId: $id) { status } }',
      { id: r.id },
      x2.adminToken,
    );
    const after = connectAs(r);
    await expect(after.connect().then(() => after.get(`scp:institution-${r.name}:id`))).rejects.toThrow(
      /WRONGPASS|invalid|closed/i,
    );
  });
  it('the queue password is not stored in clear in Redis', async () => {
    const rules = (await p.redisAdmin.call('ACL', 'GETUSER', a.queueUsername)) as unknown[];
    expect(JSON.stringify(rules)).not.toContain(a.queuePassword);
  });
});
