import { Command, Option } from 'commander';
import { JSON_FLAGS, jsonHelp } from '../json-output';
import { addSiteAction } from './consortium-add-site';
import { certifySiteAction } from './consortium-certify-site';
import { revokeSiteAction } from './consortium-revoke-site';
import { ADMIN_TOKEN_ENV, API_URL_ENV, namespaceName, portNumber, redisHost } from './consortium-inputs';

/** Options every consortium command shares: where the API is and the administrator's token. */
function withApiOptions(command: Command): Command {
  return command
    .option('--api <url>', `the API's address, e.g. https://scprivacy.example.org (default: $${API_URL_ENV})`)
    .option(
      '--token-file <file>',
      `file holding the consortium administrator's token (default: $${ADMIN_TOKEN_ENV}). Never put a ` +
        "token on the command line: it would be kept in the shell's history",
    )
    .addOption(new Option('--token <token>').hideHelp())
    .option('--consortium <id>', "the consortium's id (default: the one the administrator token manages)");
}

const ADD_SITE_HELP = `
Registers the institution with the API (its member token and its worker's queue login are
answered once), certifies its CSR if --csr is given, and writes, in --out:
  secret-site-<institution>.yaml     Secret scprivacy-site-<institution> (mode 0600): WORKER_REDIS_URL,
                                     API_TOKEN, WORKER_KEY_PASSPHRASE (generated unless
                                     --key-passphrase-file); the only copy of these credentials
  secret-site-<institution>-ca.yaml  Secret with the CA bundles, when --redis-ca / --extra-ca are given
  values-site-<institution>.yaml     Helm values of helm/scprivacy in site mode
then prints the site's next steps (kubectl apply, helm install, certification).
Everything is checked before the institution is registered; existing files are never replaced
without --force. Exit codes: 0 done, 2 bad input (nothing registered), 3 the API could not be
reached or refused (nothing registered), 1 registered but a later step failed (the message says
what is left to do).

Examples:
  export ${API_URL_ENV}=https://scprivacy.example.org
  scprivacy consortium add-site --token-file ~/.scprivacy/admin-token \\
    --institution hospital-a --display-name "Hospital A" \\
    --redis-host redis.scprivacy.example.org --redis-ca consortium-ca.pem
  # the site ran \`node dist/trainer-worker/main.js --init\` already and sent its CSR and passphrase:
  scprivacy consortium add-site --token-file admin-token --institution hospital-b \\
    --redis-host redis.scprivacy.example.org --csr hospital-b.csr.pem --key-passphrase-file hospital-b.pass
`;

const CERTIFY_SITE_HELP = `
Signs the institution's certificate request with the consortium CA. The site's worker makes its
key and request on first start (institution.csr.pem in its state folder) or with
\`node dist/trainer-worker/main.js --init\`; after certification, restarting the worker makes it
fetch its certificate with its token.

Example:
  SCPRIVACY_ADMIN_TOKEN=$(cat admin-token) scprivacy consortium certify-site \\
    --api https://scprivacy.example.org --institution hospital-a --csr hospital-a.csr.pem
`;

function addSiteCommand(): Command {
  return withApiOptions(
    new Command('add-site').description(
      "Onboard an institution's site in one step: register it, certify it, write its Helm values and Secrets.",
    ),
  )
    .requiredOption(
      '--institution <name>',
      'the institution name: lower-case letters, digits, dashes (permanent)',
    )
    .option('--display-name <text>', 'its human-readable name (default: the institution name)')
    .requiredOption('--redis-host <host>', "the consortium Redis's host name as sites reach it", redisHost)
    .option(
      '--redis-port <port>',
      "that Redis's TLS port (6380 by convention: TLS beside plain 6379 in-cluster)",
      portNumber('--redis-port'),
      6380,
    )
    .option('--redis-insecure', 'plain redis:// instead of rediss:// (test set-ups only: no TLS)', false)
    .option(
      '--allow-insecure-api',
      'accept an http:// API address for the site (trials only: its token would travel in clear)',
      false,
    )
    .option('--redis-ca <pem>', "CA certificate(s) that signed Redis's TLS certificate, if not a public CA")
    .option(
      '--extra-ca <pem>',
      'CA certificate(s) for HTTPS to the API and the object store (NODE_EXTRA_CA_CERTS)',
    )
    .option(
      '--site-api-url <url>',
      'the API address the site uses, if not --api (e.g. --api is a port-forward)',
    )
    .option(
      '--s3-port <port>',
      "the object store's port as sites reach it (presigned URLs)",
      portNumber('--s3-port'),
      443,
    )
    .option('--csr <file>', "certify this CSR of the site (made with the worker's --init) right away")
    .option(
      '--key-passphrase-file <file>',
      'WORKER_KEY_PASSPHRASE from this file (needed with --csr: the one the key was made with); default: generated',
    )
    .option(
      '--namespace <name>',
      "the site's Kubernetes namespace (written into the manifests)",
      namespaceName,
      'scprivacy',
    )
    .option('--out <dir>', 'folder for the files (default: ./site-<institution>)')
    .option('--force', 'replace files that exist already', false)
    .option(JSON_FLAGS, jsonHelp('the institution id and the paths written (no secret)'))
    .addHelpText('after', ADD_SITE_HELP)
    .action(addSiteAction);
}

function certifySiteCommand(): Command {
  return withApiOptions(
    new Command('certify-site').description("Certify a registered site's CSR with the consortium CA."),
  )
    .requiredOption('--institution <name>', 'the registered institution name')
    .requiredOption('--csr <file>', "the site's certificate request (PEM)")
    .option(JSON_FLAGS, jsonHelp('the certificate serial and status'))
    .addHelpText('after', CERTIFY_SITE_HELP)
    .action(certifySiteAction);
}

function revokeSiteCommand(): Command {
  return withApiOptions(
    new Command('revoke-site').description(
      'Revoke a site: its tokens, its queue login (its worker is disconnected) and its certificate. Permanent.',
    ),
  )
    .requiredOption('--institution <name>', 'the registered institution name')
    .option('--yes', 'confirm: revoking cannot be undone', false)
    .option(JSON_FLAGS, jsonHelp('the institution id and status'))
    .action(revokeSiteAction);
}

export function consortiumCommand(): Command {
  return new Command('consortium')
    .description("Consortium administration over the API: onboard, certify and revoke institutions' sites.")
    .addCommand(addSiteCommand())
    .addCommand(certifySiteCommand())
    .addCommand(revokeSiteCommand());
}
