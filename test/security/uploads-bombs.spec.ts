import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gzipOfZeros, gzipWideMatrix, longHeaderCsv } from './support/bombs';
import { MAX_LATENCY_MS, MAX_RSS_BYTES, underSampler } from './support/bomb-run';
import { makeBundle, QUERY_FILE, TINY_REFERENCE, TRAIN_FILE } from './support/bundle';
import { formWith, messageOf, MIB, Platform, type Consortium, type Institution } from './support/platform';
import { fmtMiB } from './support/sampler';
import { NODE_TIMEOUT_CHECK_MS, startDrip, type Drip } from './support/slow-drip';

/**
 * Malformed and hostile uploads against the built api (datasets and annotation queries), and the
 * decompression / long-line / many-cells bombs of issue 10 with the api's RSS and /health/live
 * latency asserted while each is processed. Expected answers: 400 with a message that starts
 * with the file name (or names the form field) for malformed input, 413 for input over a limit;
 * never a 500, never a crash, nothing stored. All along, a slowloris client trickles request
 * headers (a line a second): the api, its headers timeout set to 2 s here, cuts it off.
 */

const GIB = 1024 * MIB;
let p: Platform;
let dir: string;
let x: Consortium;
let a: Institution;
let modelId: string;
const bombs = { zeros: '', header: '', wideRef: '', wideQuery: '' };
const HEADERS_TIMEOUT_SECONDS = 2;
let drip: Drip | undefined;

const uploadDataset = (body: FormData | string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  p.rest(`/api/v1/institutions/${a.name}/datasets`, {
    method: 'POST',
    token: a.token,
    body,
    headers,
    signal,
  });

async function assertNothingStored(): Promise<void> {
  expect(await p.db.prisma.dataset.count({ where: { institutionId: a.id, name: { not: 'baseline' } } })).toBe(
    await storedBefore(),
  );
}
let baselineCount = 0;
const storedBefore = async () => baselineCount;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scp-sec-uploads-'));
  p = new Platform({
    label: 'uploads',
    env: { API_HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_SECONDS) },
  });
  // The bombs, streamed to disk (never held in memory), written while the platform starts: gzip
  // runs on libuv's thread pool, so the two 1 GB matrices are compressed side by side.
  bombs.zeros = join(dir, 'zeros.csv.gz');
  bombs.header = join(dir, 'wide-header.csv');
  bombs.wideRef = join(dir, 'five-million-cells.csv.gz');
  bombs.wideQuery = join(dir, 'five-million-query.csv.gz');
  const generated = Promise.all([
    gzipOfZeros(bombs.zeros, GIB),
    longHeaderCsv(bombs.header, 47 * 1000 * 1000),
    gzipWideMatrix(bombs.wideRef, 5_000_000, 100, true),
    gzipWideMatrix(bombs.wideQuery, 5_000_000, 100, false),
  ]);
  // Not awaited until the end: keep a rejection from being reported as unhandled meanwhile.
  generated.catch(() => undefined);
  const [, bundle] = await Promise.all([p.start(), makeBundle(dir)]);
  drip = startDrip(p.url);
  x = await p.createConsortium('Uploads X');
  a = await p.registerInstitution(x, 'ua');
  const imported = await p.rest('/api/v1/model-versions/import', {
    method: 'POST',
    token: a.token,
    body: formWith('model.tar', await readFile(bundle.tar)),
  });
  expect(imported.status).toBe(201);
  modelId = ((await imported.json()) as { id: string }).id;
  await generated;
}, 300_000);

afterEach(async () => {
  // A case that crashed or wedged the api has failed already; give the next one a live api.
  await p?.ensureAlive();
});

afterAll(async () => {
  drip?.stop();
  await p?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------ malformed

describe('malformed dataset uploads: 400 naming the file, nothing stored', () => {
  const train = () => readFile(TRAIN_FILE);
  const cases: [string, string, () => Promise<Uint8Array | string>, RegExp][] = [
    ['an empty file', 'empty.csv', async () => '', /^empty\.csv.*empty/],
    [
      'a wrong extension (.exe)',
      'reference.exe',
      async () => TINY_REFERENCE,
      /^reference\.exe: unsupported file type/,
    ],
    ['no extension at all', 'reference', async () => TINY_REFERENCE, /^reference: unsupported file type/],
    ['a gzip named .csv', 'packed.csv', async () => gzipSync(TINY_REFERENCE), /^packed\.csv/],
    ['plain text named .csv.gz', 'plain.csv.gz', async () => TINY_REFERENCE, /^plain\.csv\.gz/],
    ['a truncated gzip', 'cut.csv.gz', async () => (await train()).subarray(0, 20_000), /^cut\.csv\.gz/],
    [
      'a gzip cut inside its header',
      'tiny-cut.csv.gz',
      async () => gzipSync(TINY_REFERENCE).subarray(0, 6),
      /^tiny-cut\.csv\.gz/,
    ],
    [
      'a NUL byte in the header',
      'nul-header.csv',
      async () => TINY_REFERENCE.replace('CD3E', 'CD\0E'),
      /^nul-header\.csv/,
    ],
    [
      'a NUL byte in a value',
      'nul-value.csv',
      async () => TINY_REFERENCE.replace('1.2', '1\u00002'),
      /^nul-value\.csv/,
    ],
    ['1 MiB of NUL bytes without a newline', 'nuls.csv', async () => Buffer.alloc(MIB), /^nuls\.csv/],
    [
      'random binary named .csv',
      'random.csv',
      async () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
      /^random\.csv/,
    ],
    [
      'a header and no cells',
      'header-only.csv',
      async () => 'cell_id,CD3E,cell_label\n',
      /^header-only\.csv/,
    ],
    ['no cell_label column', 'nolabel.csv', async () => 'cell_id,CD3E,MS4A1\nc1,1,0\nc2,0,1\n', /cell_label/],
    [
      'a row with too many values',
      'ragged.csv',
      async () => TINY_REFERENCE.replace('c2,0,2.1,B cell,0', 'c2,0,2.1,B cell,0,9,9'),
      /^ragged\.csv.*line 3/,
    ],
    [
      'a non-numeric value',
      'text.csv',
      async () => TINY_REFERENCE.replace('c3,0.9', 'c3,lots'),
      /^text\.csv.*line 4/,
    ],
    [
      'an infinite value',
      'inf.csv',
      async () => TINY_REFERENCE.replace('c3,0.9', 'c3,Infinity'),
      /^inf\.csv/,
    ],
    [
      'a negative count',
      'negative.csv',
      async () => TINY_REFERENCE.replace('c3,0.9', 'c3,-5'),
      /^negative\.csv/,
    ],
    ['garbage named .h5ad', 'garbage.h5ad', async () => 'this is not HDF5'.repeat(100), /^garbage\.h5ad/],
    [
      'a UTF-16 file',
      'utf16.csv',
      async () => Buffer.from(`\ufeff${TINY_REFERENCE}`, 'utf16le'),
      /^utf16\.csv/,
    ],
    [
      'a cell type with a single cell (README: refused)',
      'singleton.csv',
      async () => 'cell_id,CD3E,MS4A1,cell_label\nc1,1,0,T\nc2,2,0,T\nc3,0,1,B\n',
      /^singleton\.csv.*B/,
    ],
    [
      'a quoted cell id holding a newline',
      'newline-id.csv',
      async () => 'cell_id,CD3E,cell_label\n"c\n1",1,T\nc2,2,T\nc3,1,T\n',
      /^newline-id\.csv/,
    ],
    [
      'a cell id holding a control character',
      'bell-id.csv',
      async () => 'cell_id,CD3E,cell_label\nc\u00071,1,T\nc2,2,T\nc3,1,T\n',
      /^bell-id\.csv/,
    ],
  ];
  beforeAll(async () => {
    baselineCount = await p.db.prisma.dataset.count({ where: { institutionId: a.id } });
  });
  it.each(cases)('%s (%s)', async (_label, fileName, data, message) => {
    const res = await uploadDataset(formWith(fileName, await data(), { name: `bad-${fileName}` }));
    expect(res.status).toBe(400);
    const text = await messageOf(res);
    expect(text).toMatch(message);
    expect(text).not.toMatch(/\/tmp|\n\s+at /); // no paths, no stack traces
    await assertNothingStored();
  });
});

describe('malformed request bodies: 400 with a message, nothing stored', () => {
  const multipart = (boundary: string, body: string) =>
    uploadDataset(body, { 'content-type': `multipart/form-data; boundary=${boundary}` });
  it.each([
    [
      'a JSON body',
      () => uploadDataset(JSON.stringify({ file: TINY_REFERENCE }), { 'content-type': 'application/json' }),
      /multipart\/form-data/,
    ],
    [
      'a url-encoded body',
      () => uploadDataset('file=abc', { 'content-type': 'application/x-www-form-urlencoded' }),
      /multipart\/form-data/,
    ],
    [
      'a raw CSV body',
      () => uploadDataset(TINY_REFERENCE, { 'content-type': 'text/csv' }),
      /multipart\/form-data/,
    ],
    [
      'multipart without a boundary',
      () => uploadDataset('--x\r\n', { 'content-type': 'multipart/form-data' }),
      /multipart|boundary/i,
    ],
    [
      'multipart whose body is not multipart',
      () => multipart('XYZ', 'just some bytes, no parts at all'),
      /file|upload/i,
    ],
    [
      'multipart cut before the end',
      () =>
        multipart(
          'XYZ',
          '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\n\r\ncell_id,CD3E',
        ),
      /upload|file|cut\.csv/i,
    ],
    [
      'a form without a file',
      () => uploadDataset(Object.assign(new FormData(), {}) as FormData),
      /No file received|file/,
    ],
    [
      'the file under another field name',
      () => {
        const f = new FormData();
        f.set('data', new Blob([TINY_REFERENCE]), 'x.csv');
        return uploadDataset(f);
      },
      /field named "file"/,
    ],
    [
      'a 1 MiB form field',
      () => uploadDataset(formWith('tiny.csv', TINY_REFERENCE, { name: 'n'.repeat(MIB) })),
      /"name"/,
    ],
    [
      'a dataset name of control characters',
      () => uploadDataset(formWith('tiny.csv', TINY_REFERENCE, { name: '\u0000\u0001\u0002' })),
      /name/,
    ],
  ] as const)('%s', async (_label, send, message) => {
    const before = await p.db.prisma.dataset.count();
    const res = await send();
    expect(res.status).toBe(400);
    expect(await messageOf(res)).toMatch(message);
    expect(await p.db.prisma.dataset.count()).toBe(before);
  });

  it('a file name with ../ and slashes is stored under a safe name', async () => {
    const res = await uploadDataset(
      formWith('../../../etc/passwd.csv', TINY_REFERENCE, { name: 'traversal' }),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as { fileName: string };
    expect(body.fileName).not.toMatch(/[/\\]|\.\./);
    const keys = await p.store.list(`institutions/${a.name}/`);
    expect(keys.every((k) => !k.includes('..') && !k.includes('/etc/'))).toBe(true);
  });
});

describe('malformed annotation queries', () => {
  const submit = (fileName: string, data: Uint8Array | string, fields: Record<string, string> = {}) =>
    p.rest('/api/v1/annotations', {
      method: 'POST',
      token: a.token,
      body: formWith(fileName, data, { modelVersionId: modelId, ...fields }),
    });
  async function finalState(id: string): Promise<{ status: string; error: string | null }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const job = (await (await p.rest(`/api/v1/annotations/${id}`, { token: a.token })).json()) as {
        status: string;
        error: string | null;
      };
      if (job.status === 'completed' || job.status === 'failed' || Date.now() > deadline) return job;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  /** Refused at once (400/413 naming the file), or accepted and failed naming the file. */
  async function expectRefused(res: Response, fileName: RegExp): Promise<void> {
    if (res.status === 202) {
      const job = await finalState(((await res.json()) as { id: string }).id);
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(fileName);
    } else {
      expect([400, 413]).toContain(res.status);
      expect(await messageOf(res)).toMatch(fileName);
    }
  }
  it.each([
    ['an empty query', 'empty-q.csv', '', /^empty-q\.csv/],
    [
      'a truncated gzip query',
      'cut-q.csv.gz',
      gzipSync('cell_id,CD3E\nc1,1\n').subarray(0, 12),
      /^cut-q\.csv\.gz/,
    ],
    ['a NUL byte in a query', 'nul-q.csv', 'cell_id,CD3E\nc1,\u00001\n', /^nul-q\.csv/],
    [
      'a query with no genes in common with the model',
      'alien-q.csv',
      'cell_id,NOT_A_GENE\nc1,1\nc2,2\n',
      /^alien-q\.csv/,
    ],
    [
      'a query with a control character in a cell id',
      'ctl-q.csv',
      'cell_id,CD3E\nc\u001b1,1\n',
      /^ctl-q\.csv/,
    ],
  ] as const)('%s', async (_l, fileName, data, message) => {
    await expectRefused(await submit(fileName, data), message);
  });
  it.each([
    ['a threshold that is not a number', { rejectThreshold: 'NaN' }, /rejectThreshold/],
    ['a threshold of 1e400', { rejectThreshold: '1e400' }, /rejectThreshold/],
    ['a model id that is not a uuid', { modelVersionId: "'; DROP TABLE model_versions; --" }, /./],
  ] as const)('%s: refused before anything is stored', async (_l, fields, message) => {
    const before = await p.db.prisma.annotationJob.count();
    const res = await submit('q.csv', 'cell_id,CD3E\nc1,1\n', fields);
    expect([400, 404]).toContain(res.status);
    expect(await messageOf(res)).toMatch(message);
    expect(await p.db.prisma.annotationJob.count()).toBe(before);
  });
  it('formula-leading cell ids never reach predictions.csv as formulas', async () => {
    const lines = gunzipSync(await readFile(QUERY_FILE))
      .toString('utf8')
      .split('\n');
    const first = lines[1].split(',');
    first[0] = '=HYPERLINK("http://evil.example/","click")'.replace(/,/g, ';');
    lines[1] = first.join(',');
    const second = lines[2].split(',');
    second[0] = '+cmd|calc';
    lines[2] = second.join(',');
    const res = await submit('formula-q.csv', lines.join('\n'));
    if (res.status !== 202) {
      // Refusing such ids outright is also acceptable.
      expect(res.status).toBe(400);
      return;
    }
    const id = ((await res.json()) as { id: string }).id;
    const job = await finalState(id);
    if (job.status === 'failed') {
      expect(job.error).toMatch(/^formula-q\.csv/);
      return;
    }
    const predictions = await (
      await p.rest(`/api/v1/annotations/${id}/predictions.csv`, { token: a.token })
    ).text();
    for (const line of predictions.split('\n').slice(1)) expect(line).not.toMatch(/^"?[=+\-@]/);
  });
});

// ------------------------------------------------------------------------------ bombs

interface Answer {
  status: number;
  message: string;
  id?: string;
}

async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: { message?: string; id?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    /* not JSON */
  }
  return { status: res.status, message: String(body.message ?? ''), id: body.id };
}

function assertBounds(
  label: string,
  sample: { peakRssBytes: number; maxLatencyMs: number; failures: number },
) {
  expect(sample.failures, `${label}: /health/live did not answer 200 every time`).toBe(0);
  expect(sample.maxLatencyMs, `${label}: slowest /health/live ${sample.maxLatencyMs} ms`).toBeLessThan(
    MAX_LATENCY_MS,
  );
  expect(sample.peakRssBytes, `${label}: api peak RSS ${fmtMiB(sample.peakRssBytes)}`).toBeLessThan(
    MAX_RSS_BYTES,
  );
}

describe('bombs (sequential; api RSS < 600 MB and /health/live < 100 ms throughout)', () => {
  it('dataset: gzip of 1 GiB of zeros -> 400/413 naming the file, bounded', async () => {
    const { result, sample } = await underSampler(p, 'dataset gzip of 1 GiB zeros', async (signal) =>
      answerOf(
        await uploadDataset(
          formWith('zeros.csv.gz', await openAsBlob(bombs.zeros), { name: 'zeros' }),
          {},
          signal,
        ),
      ),
    );
    expect(result).not.toBeInstanceOf(Error);
    const answer = result as Answer;
    expect([400, 413]).toContain(answer.status);
    expect(answer.message).toMatch(/^zeros\.csv\.gz/);
    expect(p.api.running()).toBe(true);
    assertBounds('zeros dataset', sample);
    expect(await p.db.prisma.dataset.count({ where: { name: 'zeros' } })).toBe(0);
  }, 150_000);

  it('annotation query: gzip of 1 GiB of zeros -> refused or failed naming the file, bounded', async () => {
    const { result, sample } = await underSampler(
      p,
      'annotation query gzip of 1 GiB zeros',
      async (signal) => {
        const res = await p.rest('/api/v1/annotations', {
          method: 'POST',
          token: a.token,
          body: formWith('zeros-q.csv.gz', await openAsBlob(bombs.zeros), { modelVersionId: modelId }),
          signal,
        });
        const answer = await answerOf(res);
        if (answer.status !== 202 || !answer.id) return answer;
        // Accepted: the job must end (failed, naming the file) while the api stays responsive.
        for (;;) {
          signal.throwIfAborted();
          const job = (await (
            await p.rest(`/api/v1/annotations/${answer.id}`, { token: a.token, signal })
          ).json()) as {
            status: string;
            error: string | null;
          };
          if (job.status === 'failed' || job.status === 'completed') return { ...answer, job };
          await new Promise((r) => setTimeout(r, 200));
        }
      },
    );
    expect(result).not.toBeInstanceOf(Error);
    const answer = result as Answer & { job?: { status: string; error: string | null } };
    if (answer.status === 202) {
      expect(answer.job?.status).toBe('failed');
      expect(answer.job?.error).toMatch(/^zeros-q\.csv\.gz/);
    } else {
      expect([400, 413]).toContain(answer.status);
      expect(answer.message).toMatch(/^zeros-q\.csv\.gz/);
    }
    expect(p.api.running()).toBe(true);
    assertBounds('zeros query', sample);
  }, 150_000);

  it('dataset: a 47 MB header line -> 400/413 naming the file, bounded', async () => {
    const { result, sample } = await underSampler(p, 'dataset with a 47 MB header line', async (signal) =>
      answerOf(
        await uploadDataset(
          formWith('wide-header.csv', await openAsBlob(bombs.header), { name: 'wide' }),
          {},
          signal,
        ),
      ),
    );
    expect(result).not.toBeInstanceOf(Error);
    const answer = result as Answer;
    expect([400, 413]).toContain(answer.status);
    expect(answer.message).toMatch(/^wide-header\.csv/);
    expect(p.api.running()).toBe(true);
    assertBounds('47 MB header', sample);
  }, 150_000);

  it('dataset: 5 M cells x 100 genes gzip -> stored or refused cleanly, bounded', async () => {
    const { result, sample } = await underSampler(p, 'dataset 5M cells x 100 genes gzip', async (signal) =>
      answerOf(
        await uploadDataset(
          formWith('five-million-cells.csv.gz', await openAsBlob(bombs.wideRef), { name: 'five-million' }),
          {},
          signal,
        ),
      ),
    );
    expect(result).not.toBeInstanceOf(Error);
    const answer = result as Answer;
    // Refusing it (a cap on cells or decompressed bytes) or summarising it in bounded memory are
    // both acceptable; a 500, a crash or gigabytes of RSS are not.
    expect([201, 400, 413]).toContain(answer.status);
    if (answer.status !== 201) expect(answer.message).toMatch(/^five-million-cells\.csv\.gz/);
    expect(p.api.running()).toBe(true);
    assertBounds('5M cells dataset', sample);
  }, 150_000);

  it('annotation query: 5 M cells x 100 genes gzip -> the api stays bounded while it is handled', async () => {
    const { result, sample } = await underSampler(
      p,
      'annotation query 5M cells x 100 genes gzip (+10 s of its job)',
      async (signal) =>
        answerOf(
          await p.rest('/api/v1/annotations', {
            method: 'POST',
            token: a.token,
            body: formWith('five-million-q.csv.gz', await openAsBlob(bombs.wideQuery), {
              modelVersionId: modelId,
            }),
            signal,
          }),
        ),
      // An accepted job runs on: keep watching the api for a while as it does.
      10_000,
    );
    expect(result).not.toBeInstanceOf(Error);
    const answer = result as Answer;
    expect([202, 400, 413]).toContain(answer.status);
    if (answer.status !== 202) expect(answer.message).toMatch(/^five-million-q\.csv\.gz/);
    expect(p.api.running()).toBe(true);
    assertBounds('5M cells query', sample);
  }, 150_000);
});

describe('a client trickling its headers (slowloris)', () => {
  it("is cut off with a 408 once API_HEADERS_TIMEOUT_SECONDS pass, not after Node's default 60 s", async () => {
    // Started right after the api, it has been dripping through every case above.
    const bound = HEADERS_TIMEOUT_SECONDS * 1000 + NODE_TIMEOUT_CHECK_MS + 5000;
    const left = Math.max(0, bound - (performance.now() - drip!.startedAt));
    const closedAfter = await Promise.race([
      drip!.closedAfterMs,
      new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), left)),
    ]);
    expect(closedAfter).toBeLessThan(bound);
    // A 408 (not a reset): the running api timed the request out, it was not restarted under it.
    expect(drip!.answer()).toMatch(/^HTTP\/1\.1 408/);
  }, 60_000);
});
