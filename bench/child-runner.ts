import { spawnSync } from 'node:child_process';

/**
 * Runs one benchmark case in a child process of `script` (a bench's own file, started with
 * `args`), so that its peak memory and tfjs state are its own; returns the JSON the child
 * prints on its last line of standard output.
 */
export function runChild(script: string, args: string[]): unknown {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`benchmark child ${args.join(' ')} failed:\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line);
}
