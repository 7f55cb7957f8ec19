import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsortium,
  formWith,
  messageOf,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';
import { bundleTar, gzipBombBundle, tarOf, tinyBundleFiles, withFiles } from './support/bundle-fixtures';

const MIB = 1024 * 1024;

describe('api: hostile model bundles (POST /model-versions/import)', () => {
  let api: ApiHarness;
  let member: RegisteredInstitution;
  let files: Record<string, Buffer>;

  const importTar = (data: Buffer, name = 'model.tar') =>
    api.rest('/api/v1/model-versions/import', {
      method: 'POST',
      token: member.token,
      body: formWith(name, data),
    });

  /** POSTs `data`, expects `status`, returns the message; the api must still be alive afterwards. */
  async function refused(data: Buffer, status = 400, name = 'model.tar'): Promise<string> {
    const res = await importTar(data, name);
    const message = await messageOf(res);
    expect({ status: res.status, message }).toMatchObject({ status });
    expect((await api.rest('/health/live')).status).toBe(200);
    return message;
  }

  beforeAll(async () => {
    [api, files] = await Promise.all([startApi('bundle_import'), tinyBundleFiles()]);
    const x = await createConsortium(api, 'Importing X');
    member = await registerInstitution(api, x.id, x.adminToken, 'imp');
  });

  afterAll(async () => {
    await api?.close();
  });

  it('should import the tiny bundle (the fixtures are valid)', async () => {
    const res = await importTar(await bundleTar(files));
    expect(res.status).toBe(201);
  });

  it("should keep a one-institution bundle's record that secure aggregation was skipped", async () => {
    const skipped = {
      reason: 'single-institution',
      message: 'One institution: secure aggregation is not needed.',
    };
    const res = await importTar(
      await bundleTar(
        withFiles(files, {}, (m) => {
          (m.options as Record<string, unknown>).secureAggregationSkipped = skipped;
        }),
      ),
    );
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const row = await api.db.modelVersion.findUniqueOrThrow({ where: { id } });
    expect((row.manifest as { options: Record<string, unknown> }).options.secureAggregationSkipped).toEqual(
      skipped,
    );
  });

  it("should keep a variable-genes bundle's gene count in its options, and refuse a bad one naming it", async () => {
    const withCount = (n: unknown) =>
      bundleTar(
        withFiles(files, {}, (m) => {
          (m.options as Record<string, unknown>).variableGenes = n;
        }),
      );
    const res = await importTar(await withCount(2000));
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const row = await api.db.modelVersion.findUniqueOrThrow({ where: { id } });
    expect((row.manifest as { options: Record<string, unknown> }).options.variableGenes).toBe(2000);
    expect(await refused(await withCount(-3))).toMatch(/manifest\.json: options\.variableGenes: /);
  });

  it("should keep a bundle's gene dropout in its options, and refuse a bad one naming it", async () => {
    const withDropout = (p: unknown) =>
      bundleTar(
        withFiles(files, {}, (m) => {
          (m.options as Record<string, unknown>).inputDropout = p;
        }),
      );
    const res = await importTar(await withDropout(0.2));
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const row = await api.db.modelVersion.findUniqueOrThrow({ where: { id } });
    expect((row.manifest as { options: Record<string, unknown> }).options.inputDropout).toBe(0.2);
    expect(await refused(await withDropout(1.5))).toMatch(
      /manifest\.json: options\.inputDropout: expected a number from 0 to 0\.9/,
    );
    expect(await refused(await withDropout('a lot'))).toMatch(/options\.inputDropout: expected a number/);
  });

  it.each([
    ['variableGenesPerCell', 10, 10_001],
    ['detectedValuesPerGene', 40, 1_000_001],
  ] as const)(
    "should keep a bundle's gene cap %s in its options, and refuse one out of range naming it",
    async (field, good, bad) => {
      const withCap = (n: unknown) =>
        bundleTar(
          withFiles(files, {}, (m) => {
            (m.options as Record<string, unknown>)[field] = n;
          }),
        );
      const res = await importTar(await withCap(good));
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      const row = await api.db.modelVersion.findUniqueOrThrow({ where: { id } });
      expect((row.manifest as { options: Record<string, unknown> }).options[field]).toBe(good);
      expect(await refused(await withCap(bad))).toMatch(new RegExp(`manifest\\.json: options\\.${field}: `));
      expect(await refused(await withCap(2.5))).toMatch(new RegExp(`options\\.${field}: `));
    },
  );

  it('should answer 400 to a tar holding a/manifest.json and b/manifest.json, and keep running', async () => {
    const data = await tarOf([
      { name: 'a/manifest.json', data: files['manifest.json'] },
      { name: 'b/manifest.json', data: files['manifest.json'] },
    ]);
    // In production an uncaught exception ends the process; under the test runner it is caught,
    // so it is watched for here.
    const uncaught: unknown[] = [];
    const watch = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', watch);
    try {
      expect(await refused(data)).toMatch(/^model\.tar: the archive holds manifest\.json twice/);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('uncaughtException', watch);
    }
    expect(uncaught).toEqual([]);
  });

  it('should refuse a .tar.gz whose weights.bin inflates to 1 GiB with 413, without the memory', async () => {
    const bomb = await gzipBombBundle(1024 * MIB);
    expect(bomb.length).toBeLessThan(2 * MIB);
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    try {
      const message = await refused(bomb, 413, 'bomb.tar.gz');
      expect(message).toMatch(
        /^bomb\.tar\.gz: model\/weights\.bin holds 1073741824 bytes; .* at most 512\.0 MiB/,
      );
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect((peak - before) / MIB).toBeLessThan(300);
  });

  it.each([
    [
      'a ../ path',
      { name: '../manifest.json', data: '{}' },
      /\.\.\/manifest\.json is an absolute path or climbs out/,
    ],
    ['an absolute path', { name: '/tmp/evil', data: 'x' }, /\/tmp\/evil is an absolute path/],
    ['a symlink', { name: 'model/weights.bin', type: 'symlink', linkname: '/etc/passwd' }, /is a symlink/],
    ['a hard link', { name: 'model/genes.txt', type: 'link', linkname: 'model/manifest.json' }, /is a link/],
  ] as const)('should refuse %s with 400', async (_what, entry, expected) => {
    const data = await tarOf([{ name: 'model/manifest.json', data: files['manifest.json'] }, entry]);
    expect(await refused(data)).toMatch(expected);
  });

  const edited = (manifestEdit: (m: Record<string, unknown>) => void) =>
    bundleTar(withFiles(files, {}, manifestEdit));

  it.each([
    [
      'a manifest.json that is not JSON',
      () => bundleTar(withFiles(files, { 'manifest.json': '{"format": ' })),
      /manifest\.json: not valid JSON/,
    ],
    [
      'a manifest.json that is null',
      () => bundleTar(withFiles(files, { 'manifest.json': 'null' })),
      /manifest\.json: expected a JSON object/,
    ],
    [
      'a manifest.json that is a list',
      () => bundleTar(withFiles(files, { 'manifest.json': '[1,2]' })),
      /manifest\.json: expected a JSON object/,
    ],
    ['a manifest without files', () => edited((m) => delete m.files), /manifest\.json: files: required/],
    [
      'a manifest without options',
      () => edited((m) => delete m.options),
      /manifest\.json: options: required/,
    ],
    [
      'a shape given as text',
      () => edited((m) => ((m.shape as Record<string, unknown>).inputSize = '3')),
      /manifest\.json: shape\.inputSize: expected a whole number between 1 and 100000/,
    ],
    [
      'a huge hidden size',
      () => edited((m) => ((m.shape as Record<string, unknown>).hiddenSize = 1e12)),
      /manifest\.json: shape\.hiddenSize: expected a whole number between 1 and 100000/,
    ],
    [
      'a round count past Postgres integers',
      () => edited((m) => ((m.options as Record<string, unknown>).rounds = 1e12)),
      /manifest\.json: options\.rounds: expected a whole number between 1 and 1000000/,
    ],
    [
      'an ensemble larger than the command line makes',
      () => edited((m) => ((m.options as Record<string, unknown>).ensembleSize = 17)),
      /manifest\.json: options\.ensembleSize: expected a whole number between 1 and 16/,
    ],
    [
      'an ensemble without its further models',
      () => edited((m) => ((m.options as Record<string, unknown>).ensembleSize = 2)),
      /manifest\.json: files: weights-1\.bin is missing; options\.ensembleSize 2 needs weights-<k>\.bin and landmarks-<k>\.json for k = 1 to 1/,
    ],
    [
      "a further model's file listed for a single model",
      () => edited((m) => ((m.files as Record<string, unknown>)['weights-1.bin'] = '0'.repeat(64))),
      /manifest\.json: files: weights-1\.bin is listed but options\.ensembleSize is 1/,
    ],
    [
      'a file list naming a path outside the bundle',
      () => edited((m) => ((m.files as Record<string, unknown>)['../../etc/passwd'] = '0'.repeat(64))),
      /manifest\.json: files\.\.\.\/\.\.\/etc\/passwd: not a file of a model bundle/,
    ],
    [
      'an institution name with NUL',
      () => edited((m) => ((m.institutions as Record<string, unknown>[])[0].name = 'a\u0000b')),
      /manifest\.json: holds a NUL character/,
    ],
    [
      'an institution name with a newline',
      () => edited((m) => ((m.institutions as Record<string, unknown>[])[0].name = 'a\nb')),
      /manifest\.json: institutions\.0\.name: must not hold control characters/,
    ],
    [
      'a NUL hidden in an extra field',
      () => edited((m) => (m.extra = { 'k\u0000': 1 })),
      /manifest\.json: holds a NUL character/,
    ],
    [
      'a wrong parameterCount',
      () => edited((m) => (m.parameterCount = 5)),
      /manifest\.json: parameterCount: expected 14/,
    ],
    [
      'a weights.bin of the wrong length',
      () => bundleTar(withFiles(files, { 'weights.bin': Buffer.alloc(7) })),
      /weights\.bin: 7 bytes; the manifest's shape needs 56 \(14 float32\)/,
    ],
    [
      'a genes.txt with a million lines',
      () => bundleTar(withFiles(files, { 'genes.txt': 'g\n'.repeat(1_000_000) })),
      /genes\.txt: 1000000 genes; the manifest's shape\.inputSize says 3/,
    ],
    [
      'a landmarks.json that is not JSON',
      () => bundleTar(withFiles(files, { 'landmarks.json': '[' })),
      /landmarks\.json: not valid JSON/,
    ],
    [
      'a landmarks.json of the wrong shape',
      () =>
        bundleTar(
          withFiles(files, {
            'landmarks.json': JSON.stringify({
              embeddingSize: 2,
              institutions: [{ institution: 'alpha', types: ['T'], cellCounts: [1], landmarks: [[1]] }],
            }),
          }),
        ),
      /landmarks\.json: institutions\.0\.landmarks\.0: expected 2 numbers/,
    ],
    [
      'a landmarks.json whose institutions is a text',
      () => bundleTar(withFiles(files, { 'landmarks.json': '{"embeddingSize":2,"institutions":"x"}' })),
      /landmarks\.json: institutions: expected a list/,
    ],
    [
      'a bundle without weights.bin',
      () => tarOf([{ name: 'model/manifest.json', data: files['manifest.json'] }]),
      /the archive has no (genes\.txt|weights\.bin)/,
    ],
  ])('should answer 400 naming the file and field for %s', async (_what, make, expected) => {
    const before = await api.db.modelVersion.count();
    const message = await refused(await make());
    expect(message).toMatch(expected);
    expect(message).toMatch(/^model\.tar: /);
    expect(await api.db.modelVersion.count()).toBe(before);
  });

  it('should answer 413 to a manifest.json over 1 MiB', async () => {
    const huge = bundleTar(withFiles(files, { 'manifest.json': `{"pad": "${'x'.repeat(2 * MIB)}"}` }));
    expect(await refused(await huge, 413)).toMatch(
      /manifest\.json holds \d+ bytes; a bundle's manifest\.json may hold at most 1\.0 MiB/,
    );
  });
});
