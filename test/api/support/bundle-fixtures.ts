import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { constants, crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { saveBundle, type FederatedModel } from '@fl/federation';
import tar from 'tar-stream';

const execFileAsync = promisify(execFile);

/** One tar entry; `data` defaults to empty, `type` to a regular file. */
export interface TarEntry {
  name: string;
  data?: Buffer | string;
  type?: tar.Header['type'];
  linkname?: string;
}

/** A tar archive (in memory: keep entries small) of `entries`, in order. */
export async function tarOf(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const type = e.type ?? 'file';
    const size = type === 'file' ? data.length : 0;
    const header = { name: e.name, type, linkname: e.linkname, size, mode: 0o644 };
    if (type === 'file') pack.entry(header, data);
    else pack.entry(header, Buffer.alloc(0));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A valid model bundle's files (a 3-gene model), as `scprivacy run --model-dir` writes them. */
export async function tinyBundleFiles(): Promise<Record<string, Buffer>> {
  const shape = { inputSize: 3, hiddenSize: 2, embeddingSize: 2 };
  const total = 3 * 2 + 2 + 2 * 2 + 2;
  const model: FederatedModel = {
    genes: ['cd3e', 'ms4a1', 'lyz'],
    shape,
    params: Float32Array.from({ length: total }, (_, i) => i / 10),
    landmarks: [
      {
        institution: 'alpha',
        types: ['T cell', 'B cell'],
        cellCounts: [5, 4],
        landmarks: Float32Array.from([1, 0, 0, 1]),
      },
    ],
  };
  const dir = await mkdtemp(join(tmpdir(), 'tiny-bundle-'));
  try {
    await saveBundle(join(dir, 'model'), model, {
      options: {
        rounds: 2,
        localSteps: 1,
        learningRate: 0.01,
        seed: 7,
        hiddenSize: 2,
        embeddingSize: 2,
        weighting: 'uniform',
        aggregation: 'fedavg',
      },
      backend: 'cpu',
      institutions: [{ name: 'alpha', numExamples: 9, types: ['T cell', 'B cell'], typeCounts: [5, 4] }],
      toolVersion: 'test',
    });
    const files: Record<string, Buffer> = {};
    for (const name of ['manifest.json', 'genes.txt', 'weights.bin', 'landmarks.json'])
      files[name] = await readFile(join(dir, 'model', name));
    return files;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * The bundle's files with some replaced; manifest.json's checksums are recomputed (as an
 * attacker would) unless the manifest itself is replaced, so the checksum check passes.
 */
export function withFiles(
  files: Record<string, Buffer>,
  changes: Record<string, Buffer | string>,
  manifestEdit?: (manifest: Record<string, unknown>) => void,
): Record<string, Buffer> {
  const out: Record<string, Buffer> = { ...files };
  for (const [name, data] of Object.entries(changes)) out[name] = Buffer.from(data);
  if (!('manifest.json' in changes)) {
    const manifest = JSON.parse(files['manifest.json'].toString('utf8')) as Record<string, unknown>;
    manifest.files = Object.fromEntries(
      ['genes.txt', 'weights.bin', 'landmarks.json'].map((n) => [n, sha256(out[n])]),
    );
    manifestEdit?.(manifest);
    out['manifest.json'] = Buffer.from(JSON.stringify(manifest));
  }
  return out;
}

/** A tar of bundle files under `folder/`. */
export function bundleTar(files: Record<string, Buffer>, folder = 'model'): Promise<Buffer> {
  return tarOf([
    { name: `${folder}/`, type: 'directory' },
    ...Object.entries(files).map(([name, data]) => ({ name: `${folder}/${name}`, data })),
  ]);
}

const MIB = 1024 * 1024;

/**
 * A .tar.gz of a bundle whose weights.bin holds `weightBytes` zeros, built without ever
 * holding them: deflate blocks of one MiB of zeros, each ended by a full flush (which resets
 * the compressor's history), are independent and can be repeated; the gzip trailer's CRC-32
 * is chained over the same MiB. About 1 KiB per MiB.
 */
export async function gzipBombBundle(weightBytes: number): Promise<Buffer> {
  if (weightBytes % MIB !== 0) throw new Error('weightBytes must be whole MiB');
  const files = await tinyBundleFiles();
  const head = await tarOf([{ name: 'model/manifest.json', data: files['manifest.json'] }]);
  // tar-stream ends an archive with two zero blocks; drop them to append the big entry.
  const prefix = Buffer.concat([
    head.subarray(0, head.length - 1024),
    await tarHeader('model/weights.bin', weightBytes),
  ]);
  const suffix = Buffer.alloc(1024); // weightBytes is a multiple of 512: no padding, then the end blocks
  const zeros = Buffer.alloc(MIB);
  const flush = { finishFlush: constants.Z_FULL_FLUSH, level: 9 };
  const zeroBlock = deflateRawSync(zeros, flush);
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), deflateRawSync(prefix, flush)];
  let crc = crc32(prefix);
  for (let i = 0; i < weightBytes / MIB; i++) {
    parts.push(zeroBlock);
    crc = crc32(zeros, crc);
  }
  parts.push(deflateRawSync(suffix));
  crc = crc32(suffix, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((prefix.length + weightBytes + suffix.length) % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** A ustar header block for a regular file of `size` bytes (less than 8 GiB). */
async function tarHeader(name: string, size: number): Promise<Buffer> {
  const header = Buffer.from((await tarOf([{ name, data: 'x' }])).subarray(0, 512));
  header.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  header.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return header;
}

/** gzip of a small buffer. */
export const gzip = (data: Buffer): Buffer => gzipSync(data);

/**
 * A valid .tar.gz bundle of a one-gene model whose landmarks.json is large: `institutions` sets
 * of `types` types x `embeddingSize` numbers, as the manifest says. Written streaming into `dir`
 * (numbers cycle through a few hundred values, so the gzip stays small); returns its path. With
 * `lastIsNull` the very last number is null: the bundle is refused only once all of it is checked.
 */
export async function largeLandmarksBundle(
  dir: string,
  size: { institutions: number; types: number; embeddingSize: number; lastIsNull?: boolean },
  name = 'large.tar.gz',
): Promise<string> {
  const { institutions, types, embeddingSize: e } = size;
  const folder = join(dir, 'model');
  await mkdir(folder, { recursive: true });
  const shape = { inputSize: 1, hiddenSize: 1, embeddingSize: e };
  const total = 1 + 1 + e + e;
  const files: Record<string, string> = {};
  const write = async (name: string, parts: Iterable<string | Uint8Array>) => {
    const hash = createHash('sha256');
    const hashed = (function* () {
      for (const p of parts) {
        hash.update(p);
        yield p;
      }
    })();
    await pipeline(Readable.from(hashed), createWriteStream(join(folder, name)));
    files[name] = hash.digest('hex');
  };
  const typeNames = Array.from({ length: types }, (_, t) => `type ${t}`);
  const names = Array.from({ length: institutions }, (_, i) => `inst${i}`);
  await write('genes.txt', ['cd3e\n']);
  await write('weights.bin', [new Uint8Array(Float32Array.from({ length: total }, (_, i) => i / 7).buffer)]);
  const row = (t: number) => `[${Array.from({ length: e }, (_, j) => ((t * e + j) % 397) / 397).join(',')}]`;
  const lastRow = `[${Array.from({ length: e }, (_, j) => (j === e - 1 ? 'null' : '0.5')).join(',')}]`;
  await write(
    'landmarks.json',
    (function* () {
      yield `{"embeddingSize":${e},"institutions":[`;
      for (const [i, name] of names.entries()) {
        const counts = typeNames.map(() => 3).join(',');
        yield `${i ? ',' : ''}{"institution":"${name}","types":${JSON.stringify(typeNames)},"cellCounts":[${counts}],"landmarks":[`;
        for (let t = 0; t < types; t++) {
          const last = size.lastIsNull && i === institutions - 1 && t === types - 1;
          yield `${t ? ',' : ''}${last ? lastRow : row(t)}`;
        }
        yield ']}';
      }
      yield ']}\n';
    })(),
  );
  const options = {
    rounds: 2,
    localSteps: 1,
    learningRate: 0.01,
    seed: 7,
    hiddenSize: 1,
    embeddingSize: e,
    weighting: 'uniform',
    aggregation: 'fedavg',
  };
  const manifest = {
    format: 'scprivacy-model',
    formatVersion: 1,
    createdAt: new Date().toISOString(),
    tool: { name: 'scprivacy', version: 'test' },
    options,
    seed: 7,
    backend: 'cpu',
    geneCount: 1,
    shape,
    parameterCount: total,
    institutions: names.map((name) => ({
      name,
      numExamples: 3 * types,
      types: typeNames,
      typeCounts: typeNames.map(() => 3),
    })),
    files,
  };
  await writeFile(join(folder, 'manifest.json'), JSON.stringify(manifest, null, 2));
  const archive = join(dir, name);
  await execFileAsync('tar', ['-czf', archive, '-C', dir, 'model']);
  await rm(folder, { recursive: true, force: true });
  return archive;
}
