// `npm run stack`: the whole platform on this machine, for trying it out. Starts a fresh
// Postgres database (on the local server), uses the local Redis, starts an S3-compatible server
// on loopback (s3rver, with MinIO-like signature checks), the api, the aggregator and one trainer
// worker per institution of the example consortium (examples/pbmc-mini: three PBMC references
// cut from ../shared/datasets/pbmc), registers and certifies the institutions, uploads their
// datasets, and prints the URLs and tokens. A service that exits unexpectedly is restarted after
// a pause, with a line saying so (at most 5 times a minute). Ctrl-C, SIGTERM or SIGHUP (to it or
// to the npm running it) stops every process it started, drops the database and removes the
// queue users and queue keys it created in the Redis it was given.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { EXAMPLE_CONSORTIUM, Stack } from './local-stack/stack';

const EXAMPLE = EXAMPLE_CONSORTIUM.institutions;
const QUERY = EXAMPLE_CONSORTIUM.query;

const program = new Command('stack')
  .description(
    'Runs the scPrivacy platform (api, aggregator, a worker per example institution) on this machine',
  )
  .option('--port <n>', 'API port', '3000')
  .option(
    '--redis <url>',
    'Redis to use (its default user creates the queue users)',
    'redis://127.0.0.1:6379',
  )
  .option('--demo', 'also run a short secure federation and annotate the example query, then keep running')
  .option('--rounds <n>', 'rounds of the --demo federation', '30')
  .showHelpAfterError();

async function main(): Promise<void> {
  const opts = program.parse().opts<{ port: string; redis: string; demo?: boolean; rounds: string }>();
  const dir = await mkdtemp(join(tmpdir(), 'scprivacy-stack-'));
  const stack = new Stack({
    dir,
    consortium: 'example consortium',
    institutions: EXAMPLE,
    apiPort: Number(opts.port),
    redisUrl: opts.redis,
    log: (m) => console.log(`  ${m}`),
    supervise: true,
  });
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nstopping the stack (${why})…`);
    let code = 0;
    await stack.stop().catch((e: Error) => {
      console.error(`stack: while stopping: ${e.message}`);
      code = 1;
    });
    await rm(dir, { recursive: true, force: true });
    console.log('stopped: every process it started has exited');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stop(signal));
  }
  // `npm run stack` execs this process in place of npm's shell, so a signal sent to npm reaches
  // it. Should whatever started it die without a signal (SIGKILL), it is re-parented: stop then
  // too. Each service also stops by itself when this process dies (exit-with-parent.ts).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop('the process that started it has exited');
  }, 1000).unref();

  console.log('starting the scPrivacy platform (logs in ' + join(dir, 'logs') + ')');
  try {
    await stack.start();
  } catch (e) {
    console.error(`could not start the stack: ${(e as Error).message}`);
    await stack.stop().catch(() => undefined);
    process.exit(1);
  }
  const url = stack.apiUrl;
  console.log(`
The platform is running.
  API              ${url}
  GraphQL          ${url}/graphql
  REST docs        ${url}/api/docs   (OpenAPI: ${url}/api/docs-json)
  Console          ${url}/dashboard   (sign in with the consortium admin token below)
  Health           ${url}/health/ready
  Postgres         ${stack.db.url}
  Redis            ${stack.redis.url}
  S3 (loopback)    http://${stack.s3.endPoint}:${stack.s3.port}  bucket ${stack.bucket}

Tokens (shown once):
  operator          ${stack.operatorToken}
  consortium admin  ${stack.adminToken}   (consortium ${stack.consortiumId})
${[...stack.institutions.values()].map((i) => `  ${i.name.padEnd(17)} ${i.token}`).join('\n')}

Start a federation (see docs/platform.md for every call):
  curl -s ${url}/graphql -H 'content-type: application/json' -H 'authorization: Bearer ${stack.adminToken}' \\
    -d '{"query":"mutation { startFederation(input: { consortiumId: \\"${stack.consortiumId}\\", name: \\"demo\\", institutions: [${EXAMPLE.map((e) => `\\"${e.name}\\"`).join(', ')}], rounds: 30 }) { id status } }"}'
`);
  if (opts.demo) await demo(stack, Number(opts.rounds));
  console.log('Ctrl-C stops everything.');
}

async function demo(stack: Stack, rounds: number): Promise<void> {
  const started = await stack.gql<{ startFederation: { id: string } }>(
    'mutation($input: StartFederationInput!) { startFederation(input: $input) { id } }',
    {
      input: {
        consortiumId: stack.consortiumId,
        name: 'demo',
        institutions: EXAMPLE.map((e) => e.name),
        rounds,
        secureAggregation: true,
      },
    },
    stack.adminToken,
  );
  const id = started.startFederation.id;
  console.log(`demo federation ${id}: ${rounds} rounds with secure aggregation`);
  let last = -1;
  for (;;) {
    const { federation } = await stack.gql<{
      federation: { status: string; currentRound: number; error: string | null };
    }>('query($id: ID!) { federation(id: $id) { status currentRound error } }', { id }, stack.adminToken);
    if (federation.currentRound !== last) {
      last = federation.currentRound;
      process.stdout.write(`\r  round ${last}/${rounds} (${federation.status})   `);
    }
    if (federation.status === 'completed') break;
    if (federation.status === 'failed') throw new Error(`the demo federation failed: ${federation.error}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const { modelVersions } = await stack.gql<{ modelVersions: { id: string; round: number }[] }>(
    'query($id: ID!) { modelVersions(federationId: $id) { id round } }',
    { id },
    stack.adminToken,
  );
  const final = modelVersions.reduce((a, b) => (b.round > a.round ? b : a));
  const res = await stack.upload('/api/v1/annotations', QUERY, stack.adminToken, {
    modelVersionId: final.id,
  });
  const job = (await res.json()) as { id: string };
  for (;;) {
    const r = await fetch(`${stack.apiUrl}/api/v1/annotations/${job.id}`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    const { status } = (await r.json()) as { status: string };
    if (status === 'completed') break;
    if (status === 'failed') throw new Error('the demo annotation failed');
    await new Promise((r2) => setTimeout(r2, 300));
  }
  console.log(
    `\n  annotated ${QUERY}: ${stack.apiUrl}/api/v1/annotations/${job.id}/result.txt (with the admin token)`,
  );
}

main().catch((e: unknown) => {
  console.error(`stack: ${(e as Error).message}`);
  process.exit(1);
});
