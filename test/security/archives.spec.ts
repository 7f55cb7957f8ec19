import { existsSync } from 'node:fs';
import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LATENCY_MS, MAX_RSS_BYTES, underSampler } from './support/bomb-run';
import { FAKE_MANIFEST, tarBuffer, writeTar, type TarEntry } from './support/bombs';
import { makeBundle } from './support/bundle';
import { formWith, messageOf, MIB, Platform, type Institution } from './support/platform';
import { fmtMiB } from './support/sampler';

/**
 * Hostile model bundles at POST /api/v1/model-versions/import (any member token may call it):
 * duplicate manifests (once a 10 KB tar crashed the api), path traversal, links, devices, NUL
 * bytes, truncation, wrong formats and a .tar.gz whose weights.bin inflates to 1 GiB. Each must
 * be refused with a 400 (or 413 over a limit) naming the archive (or the bundle file at fault), leave nothing behind, and
 * leave the api running and responsive.
 */

const GIB = 1024 * MIB;
let p: Platform;
let dir: string;
let a: Institution;
let bundle: { bundleDir: string; tar: string };
let files: Record<string, Buffer>;

const importBundle = (fileName: string, data: Uint8Array | Blob, signal?: AbortSignal) =>
  p.rest('/api/v1/model-versions/import', {
    method: 'POST',
    token: a.token,
    body: formWith(fileName, data),
    signal,
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scp-sec-archives-'));
  p = new Platform({ label: 'archives' });
  [, bundle] = await Promise.all([p.start(), makeBundle(dir)]);
  const x = await p.createConsortium('Archives X');
  a = await p.registerInstitution(x, 'arch');
  files = {};
  for (const name of ['manifest.json', 'genes.txt', 'weights.bin', 'landmarks.json'])
    files[name] = await readFile(join(bundle.bundleDir, name));
}, 240_000);

afterEach(async () => {
  await p?.ensureAlive();
});

afterAll(async () => {
  await p?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The bundle's four files under `folder/`, with `edit` applied. */
function bundleEntries(folder = 'model', edit: (e: TarEntry[]) => TarEntry[] = (e) => e): TarEntry[] {
  return edit(Object.entries(files).map(([name, data]) => ({ name: `${folder}/${name}`, data })));
}

async function modelObjects(): Promise<number> {
  return (await p.store.list('models/')).length;
}

describe('well-formed bundles (the baseline the refusals are measured against)', () => {
  it('imports the tar made by `tar -cf`', async () => {
    expect((await importBundle('model.tar', await readFile(bundle.tar))).status).toBe(201);
  });
  it('imports the same bundle gzipped', async () => {
    expect((await importBundle('model.tar.gz', gzipSync(await readFile(bundle.tar)))).status).toBe(201);
  });
  it('imports a bundle whose files sit at the root of the tar', async () => {
    expect((await importBundle('root.tar', await tarBuffer(bundleEntries('.')))).status).toBe(201);
  });
});

describe('hostile archives: 400 naming the archive, nothing stored, api alive', () => {
  const cases: [string, string, () => Promise<Uint8Array>, RegExp][] = [
    [
      'a/manifest.json and b/manifest.json (crashed the api)',
      'two-manifests.tar',
      () =>
        tarBuffer([
          { name: 'a/manifest.json', data: FAKE_MANIFEST },
          { name: 'b/manifest.json', data: FAKE_MANIFEST },
        ]),
      /^two-manifests\.tar: .*manifest\.json/,
    ],
    [
      'two whole bundles in one archive',
      'two-bundles.tar',
      async () => tarBuffer([...bundleEntries('a'), ...bundleEntries('b')]),
      /^two-bundles\.tar: .*twice/,
    ],
    [
      'two manifests, gzipped',
      'two-manifests.tar.gz',
      () =>
        tarBuffer(
          [
            { name: 'a/manifest.json', data: FAKE_MANIFEST },
            { name: 'b/manifest.json', data: FAKE_MANIFEST },
          ],
          true,
        ),
      /^two-manifests\.tar\.gz: /,
    ],
    [
      'weights.bin twice, the second one large',
      'two-weights.tar',
      () => tarBuffer([...bundleEntries('m'), { name: 'n/weights.bin', zeros: 2 * MIB }]),
      /^two-weights\.tar: /,
    ],
    [
      '../ paths only',
      'traversal.tar',
      () =>
        tarBuffer([
          { name: `../../../../../../tmp/scp-sec-evil-${process.pid}/manifest.json`, data: FAKE_MANIFEST },
          { name: '../weights.bin', data: 'x' },
        ]),
      /^traversal\.tar: /,
    ],
    [
      'absolute paths only',
      'absolute.tar',
      () => tarBuffer([{ name: `/tmp/scp-sec-abs-${process.pid}/manifest.json`, data: FAKE_MANIFEST }]),
      /^absolute\.tar: /,
    ],
    [
      'a manifest.json that is a symlink to /etc/passwd',
      'symlink.tar',
      async () =>
        tarBuffer(
          bundleEntries('model', (e) => [
            ...e.filter((f) => !f.name.endsWith('manifest.json')),
            { name: 'model/manifest.json', type: 'symlink', linkname: '/etc/passwd' },
          ]),
        ),
      /^symlink\.tar: /,
    ],
    [
      'a weights.bin hard link to /etc/shadow',
      'hardlink.tar',
      async () =>
        tarBuffer(
          bundleEntries('model', (e) => [
            ...e.filter((f) => !f.name.endsWith('weights.bin')),
            { name: 'model/weights.bin', type: 'link', linkname: '/etc/shadow' },
          ]),
        ),
      /^hardlink\.tar: /,
    ],
    [
      'a folder symlinked out, then files through it',
      'symlinked-dir.tar',
      async () =>
        tarBuffer(
          [{ name: 'model', type: 'symlink' as const, linkname: '/tmp' }, ...bundleEntries('model')].slice(
            0,
            2,
          ),
        ),
      /^symlinked-dir\.tar: /,
    ],
    [
      'a character device named weights.bin',
      'device.tar',
      async () =>
        tarBuffer(
          bundleEntries('model', (e) => [
            ...e.filter((f) => !f.name.endsWith('weights.bin')),
            { name: 'model/weights.bin', type: 'character-device' },
          ]),
        ),
      /^device\.tar: /,
    ],
    [
      'a fifo named genes.txt',
      'fifo.tar',
      async () =>
        tarBuffer(
          bundleEntries('model', (e) => [
            ...e.filter((f) => !f.name.endsWith('genes.txt')),
            { name: 'model/genes.txt', type: 'fifo' },
          ]),
        ),
      /^fifo\.tar: /,
    ],
    [
      'a NUL byte inside an entry name',
      'nul-name.tar',
      () => tarBuffer([{ name: 'model/manifest.json\u0000.png', data: FAKE_MANIFEST }]),
      /^(nul-name\.tar: )?.*manifest\.json|^nul-name\.tar: /,
    ],
    [
      'a manifest.json that is not JSON',
      'bad-manifest.tar',
      async () =>
        tarBuffer(
          bundleEntries('model', (e) =>
            e.map((f) => (f.name.endsWith('manifest.json') ? { ...f, data: '{ not json' } : f)),
          ),
        ),
      /^(bad-manifest\.tar: )?manifest\.json: /,
    ],
    [
      'a manifest.json full of NUL bytes',
      'nul-manifest.tar',
      async () =>
        tarBuffer(
          bundleEntries('model', (e) =>
            e.map((f) => (f.name.endsWith('manifest.json') ? { ...f, data: Buffer.alloc(4096) } : f)),
          ),
        ),
      /^(nul-manifest\.tar: )?manifest\.json: /,
    ],
    [
      'weights.bin of the wrong size',
      'short-weights.tar',
      async () =>
        tarBuffer(
          bundleEntries('model', (e) =>
            e.map((f) => (f.name.endsWith('weights.bin') ? { ...f, data: Buffer.alloc(12) } : f)),
          ),
        ),
      /^(short-weights\.tar: )?weights\.bin: /,
    ],
    [
      'no manifest at all (10,000 junk entries)',
      'junk.tar',
      () => tarBuffer(Array.from({ length: 10_000 }, (_, i) => ({ name: `junk/${i}.txt`, data: 'x' }))),
      // Refused by the entry-count cap before the manifest is looked for; either names the archive.
      /^junk\.tar: .*(manifest\.json|more than \d+ entries)/,
    ],
    ['an empty file', 'empty.tar', async () => new Uint8Array(0), /^empty\.tar.*empty/],
    ['a truncated tar', 'cut.tar', async () => (await readFile(bundle.tar)).subarray(0, 1500), /^cut\.tar: /],
    [
      'a truncated tar.gz',
      'cut.tar.gz',
      async () => gzipSync(await readFile(bundle.tar)).subarray(0, 2000),
      /^cut\.tar\.gz: /,
    ],
    ['a gzip of text', 'text.tar.gz', async () => gzipSync('hello '.repeat(10_000)), /^text\.tar\.gz: /],
    [
      'a zip file named .tar',
      'zipped.tar',
      async () => Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(2000, 1)]),
      /^zipped\.tar: /,
    ],
    [
      'a CSV uploaded as a bundle',
      'reference.csv',
      async () => Buffer.from('cell_id,CD3E,cell_label\nc1,1,T\n'.repeat(50)),
      /^reference\.csv: /,
    ],
    [
      'a tar header claiming a 1 TB entry, then nothing',
      'liar.tar',
      async () => {
        const tar = Buffer.from(await tarBuffer([{ name: 'model/weights.bin', data: 'x' }]));
        // Size field (octal, offset 124, 12 bytes) rewritten to 1 TB, checksum recomputed.
        tar.write('17777777777\u0000', 124, 'latin1');
        tar.fill(' ', 148, 156);
        let sum = 0;
        for (let i = 0; i < 512; i++) sum += tar[i];
        tar.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
        return tar.subarray(0, 1024);
      },
      /^liar\.tar: /,
    ],
  ];
  it.each(cases)('%s', async (_label, fileName, data, message) => {
    const before = await p.db.prisma.modelVersion.count();
    const objects = await modelObjects();
    const res = await importBundle(fileName, await data());
    expect(p.api.running(), 'the api process died').toBe(true);
    expect([400, 413]).toContain(res.status);
    const text = await messageOf(res);
    expect(text).toMatch(message);
    // The archive's own entry names may be quoted back (the ../ and absolute cases name a /tmp
    // path the attacker wrote); the api's own staging folders and stack frames may not.
    expect(text).not.toMatch(/scprivacy-(upload|bundle|annotate)-|\n\s+at /);
    expect(await p.alive()).toBe(true);
    expect(await p.db.prisma.modelVersion.count()).toBe(before);
    expect(await modelObjects()).toBe(objects);
  });
  it('wrote nothing outside its folder for the ../ and absolute entries', () => {
    expect(existsSync(`/tmp/scp-sec-evil-${process.pid}`)).toBe(false);
    expect(existsSync(`/tmp/scp-sec-abs-${process.pid}`)).toBe(false);
  });
  it('never needed a restart (no archive crashed the api)', () => {
    expect(p.restarts).toBe(0);
  });
});

describe('archive bombs (api RSS < 600 MB and /health/live < 100 ms throughout)', () => {
  const bounded = (label: string, s: { peakRssBytes: number; maxLatencyMs: number; failures: number }) => {
    expect(s.failures, `${label}: /health/live failed`).toBe(0);
    expect(s.maxLatencyMs, `${label}: slowest /health/live ${s.maxLatencyMs} ms`).toBeLessThan(
      MAX_LATENCY_MS,
    );
    expect(s.peakRssBytes, `${label}: api peak RSS ${fmtMiB(s.peakRssBytes)}`).toBeLessThan(MAX_RSS_BYTES);
  };
  it.each([
    ['weights.bin', 'weights-bomb.tar.gz'],
    ['manifest.json', 'manifest-bomb.tar.gz'],
  ] as const)(
    'a .tar.gz whose %s inflates to 1 GiB: 400/413 naming the archive, bounded',
    async (member, fileName) => {
      const path = join(dir, fileName);
      const entries = bundleEntries('model', (e) => [
        ...e.filter((f) => !f.name.endsWith(member)),
        { name: `model/${member}`, zeros: GIB },
      ]);
      // The manifest first, as `tar -cf` of the folder would put it (sorted).
      entries.sort((l, r) => l.name.localeCompare(r.name));
      await writeTar(path, entries, true);
      const before = await p.db.prisma.modelVersion.count();
      const { result, sample } = await underSampler(
        p,
        `bundle .tar.gz whose ${member} inflates to 1 GiB`,
        async (signal) => {
          const res = await importBundle(fileName, await openAsBlob(path), signal);
          return { status: res.status, message: await messageOf(res) };
        },
      );
      await rm(path, { force: true });
      expect(result).not.toBeInstanceOf(Error);
      const answer = result as { status: number; message: string };
      expect([400, 413]).toContain(answer.status);
      expect(answer.message).toMatch(new RegExp(`^${fileName.replace(/\./g, '\\.')}`));
      expect(p.api.running()).toBe(true);
      bounded(fileName, sample);
      expect(await p.db.prisma.modelVersion.count()).toBe(before);
    },
    150_000,
  );
});
