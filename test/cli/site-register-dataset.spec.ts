import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsortium,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from '../api/support/api-harness';
import { CLI, EXAMPLES, runNode } from './run-cli';

/*
 * `scprivacy site register-dataset` from dist/, against the real API on Postgres, Redis and the S3
 * server: the site registers a reference file that stays home, and the consortium learns only its
 * summary. The file is examples/pbmc-mini/train/pbmc3k_10x_v1.csv.gz (cut from
 * ../shared/datasets/pbmc by scripts/make-examples.py).
 */

const REFERENCE = join(EXAMPLES, 'train/pbmc3k_10x_v1.csv.gz');
const QUERY = join(EXAMPLES, 'test/pbmc_10x_3p_v3.csv.gz');

interface DatasetRow {
  id: string;
  name: string;
  location: string;
  localPath: string | null;
  cells: number;
  genes: number;
  sha256: string;
  typeCounts: Record<string, number>;
}

describe('scprivacy site register-dataset (real API)', () => {
  let api: ApiHarness;
  let dir: string;
  let site: RegisteredInstitution;
  let tokenFile: string;

  const register = (args: string[], env: Record<string, string> = {}) =>
    runNode(CLI, ['site', 'register-dataset', '--api', api.url, ...args], env, dir);
  const datasets = async (): Promise<DatasetRow[]> => {
    const res = await fetch(`${api.url}/api/v1/datasets`, {
      headers: { authorization: `Bearer ${site.token}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as DatasetRow[];
  };

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
    api = await startApi('sitedata');
    const consortium = await createConsortium(api, 'Site data');
    site = await registerInstitution(api, consortium.id, consortium.adminToken, 'hospital-s');
    dir = await mkdtemp(join(tmpdir(), 'site-dataset-'));
    tokenFile = join(dir, 'member-token');
    await writeFile(tokenFile, `${site.token}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers the summary of a local reference file, read as the worker reads it', async () => {
    const r = await register([
      '--token-file',
      tokenFile,
      '--institution',
      site.name,
      '--file',
      REFERENCE,
      '--worker-path',
      '/site-data/pbmc3k.csv.gz',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const sent = JSON.parse(r.stdout) as DatasetRow & { sizeBytes: number };
    const bytes = await readFile(REFERENCE);
    // The file's own figures, derived here independently of the command: one data row per cell
    // after the header, and the header's columns minus the cell id and cell_label.
    const { gunzipSync } = await import('node:zlib');
    const lines = gunzipSync(bytes).toString('utf8').trimEnd().split('\n');
    const header = lines[0].split(',');
    const labelColumn = header.indexOf('cell_label');
    const counts: Record<string, number> = {};
    for (const line of lines.slice(1)) {
      const label = line.split(',')[labelColumn];
      counts[label] = (counts[label] ?? 0) + 1;
    }
    expect(sent).toMatchObject({
      name: 'pbmc3k_10x_v1',
      path: '/site-data/pbmc3k.csv.gz',
      cells: lines.length - 1,
      genes: header.length - 2,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: bytes.length,
      typeCounts: counts,
    });
    const row = (await datasets()).find((d) => d.id === sent.id);
    expect(row).toMatchObject({
      location: 'site',
      localPath: '/site-data/pbmc3k.csv.gz',
      cells: sent.cells,
      genes: sent.genes,
      sha256: sent.sha256,
      typeCounts: counts,
    });
  });

  it('says where the data stays and how to use it, without --json', async () => {
    const r = await register(['--institution', site.name, '--file', REFERENCE, '--name', 'pbmc3k-again'], {
      SCPRIVACY_TOKEN: site.token,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Registered pbmc3k-again for .*: \d+ cells, \d+ genes; /);
    expect(r.stdout).toContain(`the worker reads the file at ${REFERENCE}`);
  });

  it.each([
    {
      case: 'a query file (no cell_label)',
      args: () => ['--token-file', tokenFile, '--institution', site.name, '--file', QUERY],
      status: 2,
      message: /cell_label/,
    },
    {
      case: 'a missing file',
      args: () => ['--token-file', tokenFile, '--institution', site.name, '--file', join(dir, 'nope.h5ad')],
      status: 2,
      message: /nope\.h5ad: no such file/,
    },
    {
      case: 'a relative worker path',
      args: () => [
        '--token-file',
        tokenFile,
        '--institution',
        site.name,
        '--file',
        REFERENCE,
        '--worker-path',
        'data/x.csv.gz',
      ],
      status: 2,
      message: /--worker-path data\/x\.csv\.gz: expected the absolute path/,
    },
    {
      case: 'a token on the command line',
      args: () => ['--token', 'abc', '--institution', site.name, '--file', REFERENCE],
      status: 2,
      message: /kept in the shell's history.*SCPRIVACY_TOKEN/,
    },
    {
      case: 'no token at all',
      args: () => ['--institution', site.name, '--file', REFERENCE],
      status: 2,
      message: /no institution's member token \(API_TOKEN\): give --token-file/,
    },
    {
      case: "another institution's name",
      args: () => ['--token-file', tokenFile, '--institution', 'someone-else', '--file', REFERENCE],
      status: 3,
      message: /the API answered HTTP (403|404)/,
    },
  ])('refuses $case, registering nothing', async ({ args, status, message }) => {
    const before = (await datasets()).length;
    const r = await register(args());
    expect(r.status, r.stderr).toBe(status);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await datasets()).length).toBe(before);
  });

  it('names the address when the API cannot be reached', async () => {
    const r = await runNode(
      CLI,
      [
        'site',
        'register-dataset',
        '--api',
        'http://127.0.0.1:9',
        '--token-file',
        tokenFile,
        '--institution',
        site.name,
        '--file',
        REFERENCE,
      ],
      {},
      dir,
    );
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('cannot reach the API at http://127.0.0.1:9');
  });
});
