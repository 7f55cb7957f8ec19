import { Command, Option } from 'commander';
import { JSON_FLAGS, jsonHelp } from '../json-output';
import { API_URL_ENV } from './consortium-inputs';
import { MEMBER_TOKEN_ENV, registerDatasetAction } from './site-register-dataset';

const REGISTER_DATASET_HELP = `
Run at the site, where the file is. Reads the reference file as the worker will (CSV/TSV[.gz] or
.h5ad with a cell_label per cell), and registers it with the consortium as a site-local dataset:
only its summary is sent (cells, genes, cells per type, sha256, size, the path the worker reads).
The token is the institution's member token (API_TOKEN of the site's Secret), from --token-file or
${MEMBER_TOKEN_ENV}; never on the command line.

Example (the site's volume is mounted at /site-data in the worker; here it is /srv/scrna):
  scprivacy site register-dataset --api https://scprivacy.example.org --token-file hospital-a.token \\
    --institution hospital-a --file /srv/scrna/references.h5ad --worker-path /site-data/references.h5ad
`;

function registerDatasetCommand(): Command {
  return new Command('register-dataset')
    .description('Register a reference file that stays on the site (only its summary is sent).')
    .option('--api <url>', `the API's address (default: $${API_URL_ENV})`)
    .option(
      '--token-file <file>',
      `file holding the institution's member token (default: $${MEMBER_TOKEN_ENV})`,
    )
    .addOption(new Option('--token <token>').hideHelp())
    .requiredOption('--institution <name>', 'this institution')
    .requiredOption('--file <path>', 'the reference file, as this machine sees it')
    .option(
      '--worker-path <path>',
      "the file's absolute path as the worker sees it (inside SITE_DATA_DIR; default: --file)",
    )
    .option('--name <name>', 'a name for the dataset (default: the file name without extension)')
    .option(JSON_FLAGS, jsonHelp('the dataset id and the summary sent'))
    .addHelpText('after', REGISTER_DATASET_HELP)
    .action(registerDatasetAction);
}

export function siteCommand(): Command {
  return new Command('site')
    .description("An institution's own commands, run at the site: register its site-local data.")
    .addCommand(registerDatasetCommand());
}
