import { Command, CommanderError } from 'commander';
import { BackendUnavailableError } from '@fl/engine';
import { InputError } from '@fl/formats';
import { annotateCommand } from './commands/annotate.command';
import { ConsortiumError } from './commands/consortium-api';
import { consortiumCommand } from './commands/consortium.command';
import { evaluateCommand } from './commands/evaluate.command';
import { preprocessCommand } from './commands/preprocess.command';
import { runCommand } from './commands/run.command';
import { siteCommand } from './commands/site.command';
import { TOOL_VERSION } from './version';

/**
 * `scprivacy`: the embedded command line. Every institution, the aggregator and the
 * annotation run in this process (and its worker threads); no server is needed.
 */
const program = new Command('scprivacy')
  .description('Privacy-preserving federated cell-type annotation of single-cell RNA-seq data (scPrivacy).')
  .version(TOOL_VERSION)
  .option('--debug', 'show stack traces for unexpected errors')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(runCommand())
  .addCommand(annotateCommand())
  .addCommand(preprocessCommand())
  .addCommand(evaluateCommand())
  .addCommand(consortiumCommand())
  .addCommand(siteCommand());

program.exitOverride();
// Subcommands made with `new Command` do not inherit these: without them a usage mistake in
// `run` would exit by itself (code 1) instead of through the handler below.
for (const command of program.commands) {
  command.copyInheritedSettings(program);
  for (const sub of command.commands) sub.copyInheritedSettings(command);
}

function fail(message: string, code: number): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
  // Worker threads and wasm may hold the event loop; a finished command ends the process.
  process.exit(0);
} catch (error) {
  // Commander has printed its message; a usage mistake is an input mistake (2), as in the README.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof InputError) fail(error.message, 2);
  if (error instanceof ConsortiumError) fail(error.message, error.exitCode);
  if (error instanceof BackendUnavailableError) fail(`--backend: ${error.message}`, 2);
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' && e.path) fail(`${e.path}: no such file or folder`, 2);
  if (e.code === 'EACCES' && e.path) fail(`${e.path}: permission denied`, 2);
  if (program.opts().debug || process.env.SCPRIVACY_DEBUG) process.stderr.write(`${e.stack}\n`);
  fail(`${e.message ?? String(error)} (an unexpected error; rerun with --debug for details)`, 1);
}
