import { Command, CommanderError } from 'commander';
import { InputError } from '@fl/formats';
import { annotateCommand } from './commands/annotate.command';
import { evaluateCommand } from './commands/evaluate.command';
import { preprocessCommand } from './commands/preprocess.command';
import { runCommand } from './commands/run.command';
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
  .addCommand(evaluateCommand());

program.exitOverride();

function fail(message: string, code: number): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
  // Worker threads and wasm may hold the event loop; a finished command ends the process.
  process.exit(0);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode);
  }
  if (error instanceof InputError) fail(error.message, 2);
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' && e.path) fail(`${e.path}: no such file or folder`, 2);
  if (e.code === 'EACCES' && e.path) fail(`${e.path}: permission denied`, 2);
  if (program.opts().debug || process.env.SCPRIVACY_DEBUG) process.stderr.write(`${e.stack}\n`);
  fail(`${e.message ?? String(error)} (an unexpected error; rerun with --debug for details)`, 1);
}
