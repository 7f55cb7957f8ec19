import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { readExpression } from '@fl/formats';
import { loadBundle, trainFederatedModel, type TrainFederatedOptions } from '@fl/federation';
import { EXAMPLE_CONSORTIUM, type Stack } from '../../scripts/local-stack/stack';

export const EXAMPLE = EXAMPLE_CONSORTIUM;

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `scp-${label}-`));
}

export interface FederationRow {
  id: string;
  status: string;
  currentRound: number;
  error: string | null;
}

export async function startFederation(stack: Stack, input: Record<string, unknown>): Promise<string> {
  const data = await stack.gql<{ startFederation: { id: string } }>(
    'mutation($input: StartFederationInput!) { startFederation(input: $input) { id } }',
    { input: { consortiumId: stack.consortiumId, institutions: [...stack.institutions.keys()], ...input } },
    stack.adminToken,
  );
  return data.startFederation.id;
}

export async function federation(stack: Stack, id: string): Promise<FederationRow> {
  const data = await stack.gql<{ federation: FederationRow }>(
    'query($id: ID!) { federation(id: $id) { id status currentRound error } }',
    { id },
    stack.adminToken,
  );
  return data.federation;
}

/** Polls until `done(row)`; fails on a failed federation or after `timeoutMs`. */
export async function waitForFederation(
  stack: Stack,
  id: string,
  done: (row: FederationRow) => boolean,
  timeoutMs = 300_000,
): Promise<FederationRow> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const row = await federation(stack, id).catch(() => undefined);
    if (row && done(row)) return row;
    if (row?.status === 'failed') throw new Error(`federation failed: ${row.error}`);
    if (Date.now() > until)
      throw new Error(`federation ${id} still ${row?.status} at round ${row?.currentRound}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function modelVersions(stack: Stack, federationId: string) {
  const data = await stack.gql<{
    federation: { modelVersions: { id: string; round: number; sha256: string; models: number }[] };
  }>(
    'query($id: ID!) { federation(id: $id) { modelVersions { id round sha256 models } } }',
    { id: federationId },
    stack.adminToken,
  );
  return [...data.federation.modelVersions].sort((a, b) => a.round - b.round);
}

export async function rounds(stack: Stack, federationId: string) {
  const data = await stack.gql<{
    rounds: { number: number; status: string; survivors: string[]; dropouts: string[] }[];
  }>(
    'query($id: ID!) { rounds(federationId: $id) { number status survivors dropouts } }',
    { id: federationId },
    stack.adminToken,
  );
  return [...data.rounds].sort((a, b) => a.number - b.number);
}

/** Downloads a model version as the command line's bundle (a .tar) and loads it. */
export async function downloadBundle(stack: Stack, modelVersionId: string) {
  const res = await fetch(`${stack.apiUrl}/api/v1/model-versions/${modelVersionId}/bundle`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  if (res.status !== 200) throw new Error(`bundle download: HTTP ${res.status} ${await res.text()}`);
  const dir = await tempDir('bundle');
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type !== 'file') return next();
        const path = join(dir, header.name);
        void mkdir(dirname(path), { recursive: true })
          .then(() => writeFile(path, Buffer.concat(chunks)))
          .then(() => next(), reject);
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from(Buffer.from(await res.arrayBuffer())).pipe(extract);
  await done;
  // The tar holds one folder (the bundle) or the bundle's files at its root.
  const { readdir } = await import('node:fs/promises');
  const entries = await readdir(dir, { withFileTypes: true });
  const root = entries.some((e) => e.name === 'manifest.json')
    ? dir
    : join(dir, entries.find((e) => e.isDirectory())!.name);
  try {
    return await loadBundle(root);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The embedded federation on the same files (all institutions, or those given), in the same order. */
export async function embeddedModel(options: TrainFederatedOptions, institutions = EXAMPLE.institutions) {
  const refs = [];
  for (const inst of institutions) {
    refs.push({ name: inst.name, matrix: await readExpression(inst.datasets[0], { role: 'reference' }) });
  }
  return trainFederatedModel(refs, { threads: 1, ...options });
}
