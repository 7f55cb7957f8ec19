import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const EXAMPLES = fileURLToPath(new URL('../../examples/pbmc-mini/', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `scprivacy` command line as a user would (after `npm install`). */
export function runCli(args: string[], cwd = REPO): CliResult {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npm run build\` before the command-line tests`);
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, SCPRIVACY_DEBUG: '' },
    timeout: 240_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
