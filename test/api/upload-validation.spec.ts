import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { worstLiveLatency } from './support/live-latency';
import {
  createConsortium,
  formWith,
  messageOf,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';

// Uploads are validated in a worker thread (issue 10): a row bomb costs the worker seconds of CPU
// but must not hold up the api's event loop. These tests need `npm run build` (the worker is
// dist/api/validate-upload-worker.js), as the api tests that run annotation jobs do.

/** The target for /health/live while a bomb is processed. */
const LIVE_TARGET_MS = 100;

let dir: string;

/**
 * Writes `rows` identical rows (a cell id, `genes` one-digit values, a label) as .csv.gz: the
 * header, then one gzip member of 1,000 rows repeated (gunzip reads concatenated members as one
 * stream), so millions of rows cost the test no compression and stay tens of KB to a few MB.
 */
async function rowBomb(name: string, rows: number, genes: number): Promise<Buffer> {
  const header = ['cell_id', ...Array.from({ length: genes }, (_, i) => `g${i}`), 'cell_label'].join(',');
  const row = ['c1', ...Array.from({ length: genes }, (_, i) => String(i % 10)), 'T'].join(',');
  const block = gzipSync(`${row}\n`.repeat(1000), { level: 9 });
  function* members() {
    yield gzipSync(`${header}\n`);
    for (let i = 0; i < rows / 1000; i++) yield block;
  }
  const path = join(dir, name);
  await pipeline(Readable.from(members()), createWriteStream(path));
  return readFile(path);
}

describe('api: uploads are validated off the event loop', () => {
  let api: ApiHarness;
  let a: RegisteredInstitution;

  const upload = (
    target: ApiHarness,
    institution: string,
    form: FormData,
    token: string,
    signal?: AbortSignal,
  ) =>
    target.rest(`/api/v1/institutions/${institution}/datasets`, {
      method: 'POST',
      body: form,
      token,
      signal,
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upload-validation-'));
    api = await startApi('upload_validation', {
      UPLOAD_MAX_BYTES: String(20 * 1024 * 1024),
      UPLOAD_MAX_CELLS: '1000000',
      UPLOAD_MAX_LINE_BYTES: '16384',
      UPLOAD_MAX_FIELD_BYTES: '1024',
      // One thread and no queue: an upload that finds the thread busy is answered 503 at once.
      UPLOAD_VALIDATION_THREADS: '1',
      UPLOAD_VALIDATION_QUEUE: '0',
    });
    const x = await createConsortium(api, 'Validation');
    a = await registerInstitution(api, x.id, x.adminToken, 'alpha');
  });

  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('should name UPLOAD_MAX_LINE_BYTES and UPLOAD_MAX_FIELD_BYTES in their refusals', async () => {
    const longLine = `cell_id,${Array.from({ length: 3000 }, (_, i) => `gene${i}`).join(',')},cell_label\n`;
    const line = await upload(api, a.name, formWith('wide.csv', longLine), a.token);
    expect(line.status).toBe(413);
    expect(await messageOf(line)).toMatch(
      /\(maxLineBytes\); if the file is genuine, raise UPLOAD_MAX_LINE_BYTES$/,
    );

    const field = await upload(
      api,
      a.name,
      formWith('field.csv', `cell_id,${'g'.repeat(2000)},cell_label\n`),
      a.token,
    );
    expect(field.status).toBe(413);
    expect(await messageOf(field)).toMatch(
      /\(maxFieldBytes\); if the file is genuine, raise UPLOAD_MAX_FIELD_BYTES$/,
    );
  });

  it('should still accept a good reference and answer 400 for a malformed one', async () => {
    const good = 'cell_id,CD3E,cell_label\nc1,1,T\nc2,2,T\nc3,0,B\nc4,1,B\n';
    const ok = await upload(api, a.name, formWith('good.csv', good), a.token);
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ cells: 4, genes: 1, typeCounts: { T: 2, B: 2 } });

    // .h5ad files are read by h5wasm, inside the thread too.
    const h5ad = await readFile(new URL('../fixtures/formats/csr.h5ad', import.meta.url));
    const fromH5ad = await upload(
      api,
      a.name,
      formWith('csr.h5ad', h5ad, { allowSingletonTypes: 'true' }),
      a.token,
    );
    expect(fromH5ad.status).toBe(201);
    expect(await fromH5ad.json()).toMatchObject({ cells: 6, genes: 5 });

    const bad = await upload(api, a.name, formWith('bad.csv', 'cell_id,CD3E,cell_label\nc1,x,T\n'), a.token);
    expect(bad.status).toBe(400);
    expect(await messageOf(bad)).toMatch(/^bad\.csv, line 2/);
  });

  it(`should keep /health/live under ${LIVE_TARGET_MS} ms while a row bomb is read, then refuse it naming UPLOAD_MAX_CELLS`, async () => {
    const bomb = await rowBomb('rows.csv.gz', 3_000_000, 2);
    expect(bomb.length).toBeLessThan(20 * 1024 * 1024);
    const answer = upload(api, a.name, formWith('rows.csv.gz', bomb), a.token);
    const { worst, probes, eventLoopDelay } = await worstLiveLatency(api, answer);
    expect(probes).toBeGreaterThan(5);
    expect(worst, `worst /health/live ${worst} ms; event-loop delay ${eventLoopDelay} ms`).toBeLessThan(
      LIVE_TARGET_MS,
    );
    const res = await answer;
    expect(res.status).toBe(413);
    expect(await messageOf(res)).toMatch(
      /^rows\.csv\.gz, line \d+: .*exceeds the limit of 1,000,000 cells \(maxCells\); if the file is genuine, raise UPLOAD_MAX_CELLS$/,
    );
  });

  it('should stop reading the file of a client that went away, freeing the thread', async () => {
    // 900,000 cells x 1,000 genes (~1.8 GB of text) would keep the only thread busy for many seconds.
    const wide = await rowBomb('wide.csv.gz', 900_000, 1000);
    expect(wide.length).toBeLessThan(20 * 1024 * 1024);
    const small = (name: string) => formWith(`${name}.csv`, 'cell_id,CD3E,cell_label\nc1,1,T\nc2,2,T\n');
    // Send the wide file until it holds the thread (a small upload is then refused as busy);
    // a small upload that came first takes the thread and the wide one is refused: try again.
    let holding = false;
    for (let attempt = 0; !holding && attempt < 10; attempt++) {
      const cancel = new AbortController();
      let settled = false;
      const gone = upload(api, a.name, formWith(`wide-${attempt}.csv.gz`, wide), a.token, cancel.signal).then(
        (res) => ((settled = true), res.status),
        () => 'aborted',
      );
      await sleep(500);
      if (!settled) holding = (await upload(api, a.name, small(`busy-${attempt}`), a.token)).status === 503;
      cancel.abort();
      expect(await gone).toBe(settled ? 503 : 'aborted');
    }
    expect(holding).toBe(true);
    // The thread is freed when the client goes away, not when the whole file has been read.
    let status = 503;
    for (let tries = 0; status === 503 && tries < 20; tries++) {
      await sleep(100);
      status = (await upload(api, a.name, small(`after-${tries}`), a.token)).status;
    }
    expect(status).toBe(201);
    const names = (
      (await (await api.rest('/api/v1/datasets', { token: a.token })).json()) as { name: string }[]
    ).map((d) => d.name);
    expect(names.filter((n) => n.startsWith('wide'))).toEqual([]);
  });

  describe('with a one-thread pool, no queue and a 1 s wall-time limit', () => {
    let tight: ApiHarness;
    let t: RegisteredInstitution;

    beforeAll(async () => {
      tight = await startApi('upload_validation_tight', {
        UPLOAD_MAX_BYTES: String(20 * 1024 * 1024),
        UPLOAD_VALIDATION_TIMEOUT_SECONDS: '1',
        UPLOAD_VALIDATION_THREADS: '1',
        UPLOAD_VALIDATION_QUEUE: '0',
      });
      const x = await createConsortium(tight, 'Tight');
      t = await registerInstitution(tight, x.id, x.adminToken, 'tau');
    });

    afterAll(async () => {
      await tight?.close();
    });

    it('should stop a file that takes longer than UPLOAD_VALIDATION_TIMEOUT_SECONDS and answer 413 naming it', async () => {
      // ~1.8 GB of text within every read limit: many seconds of reading without the time limit.
      const bomb = await rowBomb('slow.csv.gz', 900_000, 1000);
      const started = performance.now();
      const res = await upload(tight, t.name, formWith('slow.csv.gz', bomb), t.token);
      expect(res.status).toBe(413);
      expect(await messageOf(res)).toMatch(
        /^slow\.csv\.gz: checking the file took longer than the limit of 1 s \(UPLOAD_VALIDATION_TIMEOUT_SECONDS\)/,
      );
      // Stopped at the limit, not after reading the whole file.
      expect(performance.now() - started).toBeLessThan(10_000);
      const list = await tight.rest('/api/v1/datasets', { token: t.token });
      expect(await list.json()).toEqual([]);
    });

    it('should answer 503 "busy, try again" when every thread is busy and the queue is full', async () => {
      const bomb = await rowBomb('busy.csv.gz', 900_000, 1000);
      const answers = await Promise.all(
        ['first', 'second'].map((name) =>
          upload(tight, t.name, formWith(`${name}.csv.gz`, bomb), t.token).then(async (res) => ({
            status: res.status,
            message: await messageOf(res),
          })),
        ),
      );
      const busy = answers.find((r) => r.status === 503);
      expect(answers.map((r) => r.status).sort()).toEqual([413, 503]);
      expect(busy?.message).toMatch(/busy.*try again/i);
      expect(busy?.message).toMatch(/UPLOAD_VALIDATION_THREADS/);
    });
  });
});
