import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTITUTION_QUEUE_COMMANDS, LUA_SCRIPT_COMMANDS } from './worker-commands';
import { aclRulesFor } from './acl';

/** The commands BullMQ's queue scripts call (not the relay feature's), from node_modules. */
function commandsOfBullmqScripts(): Set<string> {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('bullmq')), 'commands');
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const found = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const lua = read(file);
    for (const m of lua.matchAll(/(?:rcall|redis\.p?call)\(\s*["']([A-Za-z]+)["']/g))
      found.add(m[1].toLowerCase());
    // Commands chosen at run time: `local pushCmd = lifo and 'RPUSH' or 'LPUSH'`, scanCommand = "HSCAN".
    for (const m of lua.matchAll(/(?:Cmd|Command)\s*=\s*([^\n]*)/g)) {
      for (const w of m[1].matchAll(/["']([A-Z]+)["']/g)) found.add(w[1].toLowerCase());
    }
    // Includes name a path relative to the including script.
    for (const m of lua.matchAll(/@include "([^"]+)"/g))
      visit(posix.join(posix.dirname(file), `${m[1]}.lua`));
  };
  const scripts = readdirSync(dir).filter((f) => f.endsWith('.lua') && !f.startsWith('relay'));
  expect(scripts.length).toBeGreaterThan(40);
  for (const file of scripts) visit(file);
  return found;
}

describe('institution queue commands', () => {
  it('cover every command of the installed BullMQ scripts', () => {
    const needed = commandsOfBullmqScripts();
    expect(needed.has('zadd')).toBe(true);
    // Exactly: a command BullMQ no longer calls is dropped from the grant too.
    expect([...LUA_SCRIPT_COMMANDS].sort()).toEqual([...needed].sort());
  });

  it('grant nothing administrative or keyspace-wide', () => {
    const forbidden = [
      'acl',
      'config',
      'flushall',
      'flushdb',
      'keys',
      'scan',
      'client',
      'client|list',
      'client|kill',
      'monitor',
      'debug',
      'shutdown',
      'script',
      'function',
      'eval',
      'eval_ro',
      'evalsha_ro',
      'fcall',
      'fcall_ro',
      'module',
      'subscribe',
      'psubscribe',
      'publish',
      'select',
      'swapdb',
      'move',
      'migrate',
      'restore',
      'sort',
    ];
    expect(INSTITUTION_QUEUE_COMMANDS.filter((c) => forbidden.includes(c))).toEqual([]);
  });

  it('make the ACL rules of one institution', () => {
    const rules = aclRulesFor('clinic-7');
    expect(rules.slice(0, 4)).toEqual(['resetkeys', '~scp:institution-clinic-7:*', 'resetchannels', '-@all']);
    expect(rules).toContain('+evalsha');
    expect(rules).toContain('+bzpopmin');
    expect(rules).toContain('+client|setname');
    expect(rules.filter((r) => r.startsWith('~') || r.startsWith('%') || r.startsWith('&'))).toHaveLength(1);
    expect(aclRulesFor('clinic-7', { db: 2 })).toContain('+select|2');
    expect(() => aclRulesFor('Clinic*')).toThrow(/lower-case/);
  });

  it('are the ones the README shows', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = /```\n(resetkeys[^`]*)```/.exec(readme)?.[1] ?? '';
    expect(block.split(/\s+/).filter(Boolean)).toEqual(aclRulesFor('clinic-7'));
  });
});
