import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '@fl/formats';
import { parameterLayout } from '@fl/engine';
import type { InstitutionInfo } from './messages';
import type { FederatedModel, TrainingOptions } from './model';

export const BUNDLE_FORMAT = 'scprivacy-model';
export const BUNDLE_FORMAT_VERSION = 1;

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  createdAt: string;
  tool: { name: string; version: string };
  options: TrainingOptions;
  seed: number;
  backend: string;
  geneCount: number;
  shape: FederatedModel['shape'];
  parameterCount: number;
  institutions: Pick<InstitutionInfo, 'name' | 'numExamples' | 'types' | 'typeCounts'>[];
  /** sha256 (hex) of every other file in the bundle. */
  files: Record<string, string>;
}

interface LandmarksFile {
  embeddingSize: number;
  institutions: { institution: string; types: string[]; cellCounts: number[]; landmarks: number[][] }[];
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

function encodeLandmarks(model: Pick<FederatedModel, 'shape' | 'landmarks'>): string {
  const e = model.shape.embeddingSize;
  const file: LandmarksFile = {
    embeddingSize: e,
    institutions: model.landmarks.map((set) => ({
      institution: set.institution,
      types: set.types,
      cellCounts: set.cellCounts,
      // float32 values widen to doubles exactly, and JSON prints doubles round-trip.
      landmarks: set.types.map((_, t) => Array.from(set.landmarks.subarray(t * e, (t + 1) * e))),
    })),
  };
  return JSON.stringify(file, null, 1) + '\n';
}

/**
 * Writes a model bundle: manifest.json, genes.txt, weights.bin (float32, little-endian,
 * flat layout of `parameterLayout`) and landmarks.json. The bundle is written beside the
 * target and swapped in only when complete, so a failure never leaves a half bundle and
 * never destroys the previous one.
 */
export async function saveBundle(
  dir: string,
  model: FederatedModel,
  meta: Pick<BundleManifest, 'options' | 'backend' | 'institutions'> & { toolVersion: string },
): Promise<BundleManifest> {
  const target = resolve(dir);
  const staging = `${target}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const weights = new Uint8Array(model.params.buffer, model.params.byteOffset, model.params.byteLength);
  const contents: Record<string, Uint8Array | string> = {
    'genes.txt': model.genes.join('\n') + '\n',
    'weights.bin': weights,
    'landmarks.json': encodeLandmarks(model),
  };
  // An ensemble's further members: weights-<k>.bin and landmarks-<k>.json, k = 1, 2, ...
  (model.ensemble ?? []).forEach((member, index) => {
    const k = index + 1;
    const p = member.params;
    contents[`weights-${k}.bin`] = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
    contents[`landmarks-${k}.json`] = encodeLandmarks({ shape: model.shape, landmarks: member.landmarks });
  });
  const files: Record<string, string> = {};
  for (const [name, data] of Object.entries(contents)) {
    await writeFile(join(staging, name), data);
    files[name] = sha256(data);
  }
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    tool: { name: 'scprivacy', version: meta.toolVersion },
    options: meta.options,
    seed: meta.options.seed,
    backend: meta.backend,
    geneCount: model.genes.length,
    shape: model.shape,
    parameterCount: model.params.length,
    institutions: meta.institutions,
    files,
  };
  await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  await mkdir(dirname(target), { recursive: true });
  const previous = `${target}.previous-${process.pid}`;
  const hadPrevious = await stat(target).then(
    () => true,
    () => false,
  );
  if (hadPrevious) await rename(target, previous);
  await rename(staging, target);
  if (hadPrevious) await rm(previous, { recursive: true, force: true });
  return manifest;
}

async function readBundleFile(dir: string, name: string, expected: string | undefined): Promise<Buffer> {
  const path = join(dir, name);
  const data = await readFile(path).catch(() => {
    throw new InputError(
      `${dir}: the model bundle has no ${name} (is this a scprivacy model directory?)`,
      path,
    );
  });
  if (expected === undefined)
    throw new InputError(`${dir}/manifest.json lists no checksum for ${name}`, path);
  if (sha256(data) !== expected) {
    throw new InputError(`${path}: checksum mismatch; the model bundle is damaged or was edited`, path);
  }
  return data;
}

/** Reads and verifies (sha256 of every file, shapes) a model bundle. */
export async function loadBundle(dir: string): Promise<{ model: FederatedModel; manifest: BundleManifest }> {
  const manifestPath = join(dir, 'manifest.json');
  const text = await readFile(manifestPath, 'utf8').catch(() => {
    throw new InputError(
      `${dir}: not a model bundle (no manifest.json); make one with \`scprivacy run\``,
      manifestPath,
    );
  });
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(text) as BundleManifest;
  } catch {
    throw new InputError(`${manifestPath}: not valid JSON`, manifestPath);
  }
  if (manifest.format !== BUNDLE_FORMAT || manifest.formatVersion !== BUNDLE_FORMAT_VERSION) {
    throw new InputError(
      `${manifestPath}: format ${manifest.format} v${manifest.formatVersion} is not supported (expected ${BUNDLE_FORMAT} v${BUNDLE_FORMAT_VERSION})`,
      manifestPath,
    );
  }
  const genesText = (await readBundleFile(dir, 'genes.txt', manifest.files['genes.txt'])).toString('utf8');
  const genes = genesText.split('\n').filter((g) => g.length > 0);
  const params = await readWeights(dir, 'weights.bin', manifest);
  const shape = manifest.shape;
  const landmarks = await readLandmarks(dir, 'landmarks.json', manifest);
  if (genes.length !== shape.inputSize || params.length !== parameterLayout(shape).total) {
    throw new InputError(
      `${dir}: genes.txt, weights.bin and manifest.json disagree on the model's size`,
      dir,
    );
  }
  const size = manifest.options.ensembleSize ?? 1;
  if (!Number.isInteger(size) || size < 1) {
    throw new InputError(
      `${manifestPath}: options.ensembleSize must be a whole number >= 1, got ${size}`,
      manifestPath,
    );
  }
  const ensemble = [];
  for (let k = 1; k < size; k++) {
    const member = await readWeights(dir, `weights-${k}.bin`, manifest);
    if (member.length !== params.length) {
      throw new InputError(`${dir}: weights-${k}.bin and weights.bin differ in size`, dir);
    }
    ensemble.push({ params: member, landmarks: await readLandmarks(dir, `landmarks-${k}.json`, manifest) });
  }
  return { model: { genes, shape, params, landmarks, ...(ensemble.length > 0 && { ensemble }) }, manifest };
}

async function readWeights(dir: string, name: string, manifest: BundleManifest): Promise<Float32Array> {
  const bytes = await readBundleFile(dir, name, manifest.files[name]);
  const params = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(params.buffer).set(bytes);
  return params;
}

async function readLandmarks(dir: string, name: string, manifest: BundleManifest) {
  const file = JSON.parse(
    (await readBundleFile(dir, name, manifest.files[name])).toString('utf8'),
  ) as LandmarksFile;
  return file.institutions.map((set) => ({
    institution: set.institution,
    types: set.types,
    cellCounts: set.cellCounts,
    landmarks: Float32Array.from(set.landmarks.flat()),
  }));
}
