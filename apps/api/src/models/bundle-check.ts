import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { BUNDLE_FORMAT as FORMAT, BUNDLE_FORMAT_VERSION as FORMAT_VERSION } from '@fl/federation';
import { InputError } from '@fl/formats';
// This runs in the validation thread: the file itself, not @fl/engine's index, which would load
// TensorFlow.js into every validation thread.
import { parameterLayout } from '../../../../libs/engine/src/model-shape';
import {
  isDetectionFraction,
  isInputDropout,
  MAX_INPUT_DROPOUT,
} from '../../../../libs/federation/src/input-dropout-option';
import {
  MAX_DETECTED_VALUES_PER_GENE,
  MAX_GENES_PER_CELL,
} from '../../../../libs/federation/src/gene-count-option';
import { BundleTooLargeError } from './bundle-errors';
import { bundleFileKind, isMemberFile, MAX_ENSEMBLE } from './bundle-files';

// @fl/federation's values, typed by them (a change there fails the typecheck here): importing the
// package's index would load the whole federation library into the thread.
const BUNDLE_FORMAT: typeof FORMAT = 'scprivacy-model';
const BUNDLE_FORMAT_VERSION: typeof FORMAT_VERSION = 1;

/*
 * An imported bundle is an attacker's file until proven otherwise: loadBundle (written for the
 * command line's own bundles) trusts manifest.json's shapes, and the manifest's fields end up in
 * Postgres. This checks every file against the manifest and the manifest against sane bounds
 * first, so each mistake is a 400 naming the file and the field, never a TypeError or a 500.
 */

export interface BundleCheckLimits {
  /** The most genes a model may take as input (UPLOAD_MAX_GENES). */
  maxGenes: number;
}

const MAX_HIDDEN = 100_000;
const MAX_EMBEDDING = 10_000;
const MAX_INSTITUTIONS = 1000;
const MAX_TYPES = 10_000;
const MAX_COUNT = Number.MAX_SAFE_INTEGER;
/** ModelVersion.round is a Postgres integer. */
const MAX_ROUNDS = 1_000_000;

const wholeNumber = (min: number, max: number) => {
  const expected = `expected a whole number between ${min} and ${max}`;
  return z
    .number({ required_error: `required (${expected})`, invalid_type_error: expected })
    .int(expected)
    .min(min, expected)
    .max(max, expected);
};

// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

const text = (max: number) => {
  const expected = `expected a text of at most ${max} characters`;
  return (
    z
      .string({ required_error: `required (${expected})`, invalid_type_error: expected })
      .max(max, expected)
      // Control characters would land in result files and Postgres refuses NUL in text.
      .refine((s) => !CONTROL.test(s), 'must not hold control characters')
  );
};

const sha256Hex = z
  .string({ required_error: 'required (a sha256 in hex)', invalid_type_error: 'expected a sha256 in hex' })
  .regex(/^[0-9a-f]{64}$/, 'expected a sha256 in hex');

function manifestSchema(limits: BundleCheckLimits) {
  return z.object(
    {
      format: z.literal(BUNDLE_FORMAT, {
        errorMap: () => ({
          message: `expected "${BUNDLE_FORMAT}" (a bundle from \`scprivacy run --model-dir\`)`,
        }),
      }),
      formatVersion: z.literal(BUNDLE_FORMAT_VERSION, {
        errorMap: () => ({
          message: `expected ${BUNDLE_FORMAT_VERSION}; this api reads bundles of that version`,
        }),
      }),
      createdAt: text(64),
      tool: z.object({ name: text(100), version: text(100) }, { invalid_type_error: 'expected an object' }),
      options: z.object(
        {
          rounds: wholeNumber(1, MAX_ROUNDS),
          localSteps: wholeNumber(1, MAX_ROUNDS),
          learningRate: z
            .number({ invalid_type_error: 'expected a number' })
            .finite('expected a finite number'),
          seed: wholeNumber(-MAX_COUNT, MAX_COUNT),
          hiddenSize: wholeNumber(1, MAX_HIDDEN),
          embeddingSize: wholeNumber(1, MAX_EMBEDDING),
          weighting: z.enum(['uniform', 'numExamples']),
          aggregation: text(64),
          // An ensemble's further models come as weights-<k>.bin and landmarks-<k>.json.
          ensembleSize: wholeNumber(1, MAX_ENSEMBLE).optional(),
          // Fewer genes than the references had: the bundle's gene list says which.
          variableGenes: wholeNumber(0, limits.maxGenes).optional(),
          // Its cap per reference cell (a preset's), kept as the bundle's record.
          variableGenesPerCell: wholeNumber(1, MAX_GENES_PER_CELL).optional(),
          // Its cap per detected values (a preset's), kept as the bundle's record.
          detectedValuesPerGene: wholeNumber(1, MAX_DETECTED_VALUES_PER_GENE).optional(),
          // Gene dropout of the local steps (a preset's), kept as the bundle's record.
          inputDropout: z
            .number({ invalid_type_error: 'expected a number' })
            .refine(isInputDropout, `expected a number from 0 to ${MAX_INPUT_DROPOUT}`)
            .optional(),
          inputDropoutMinDetection: z
            .number({ invalid_type_error: 'expected a number' })
            .refine(isDetectionFraction, 'expected a fraction from 0 to 1')
            .optional(),
          preset: text(64).optional(),
          // A one-institution run's record that secure aggregation was skipped (kept on import).
          secureAggregationSkipped: z
            .object(
              { reason: z.literal('single-institution'), message: text(500) },
              { invalid_type_error: 'expected an object' },
            )
            .optional(),
        },
        { invalid_type_error: 'expected an object', required_error: 'required' },
      ),
      seed: wholeNumber(-MAX_COUNT, MAX_COUNT),
      backend: text(64),
      geneCount: wholeNumber(1, limits.maxGenes),
      shape: z.object(
        {
          inputSize: wholeNumber(1, limits.maxGenes),
          hiddenSize: wholeNumber(1, MAX_HIDDEN),
          embeddingSize: wholeNumber(1, MAX_EMBEDDING),
        },
        { invalid_type_error: 'expected an object', required_error: 'required' },
      ),
      parameterCount: wholeNumber(1, MAX_COUNT),
      institutions: z
        .array(
          z.object({
            name: text(200),
            numExamples: wholeNumber(0, MAX_COUNT),
            types: z.array(text(200)).max(MAX_TYPES),
            typeCounts: z.array(wholeNumber(0, MAX_COUNT)).max(MAX_TYPES),
          }),
          { invalid_type_error: 'expected a list', required_error: 'required' },
        )
        .min(1, 'expected at least one institution')
        .max(MAX_INSTITUTIONS, `expected at most ${MAX_INSTITUTIONS} institutions`),
      files: z
        .object(
          { 'genes.txt': sha256Hex, 'weights.bin': sha256Hex, 'landmarks.json': sha256Hex },
          { invalid_type_error: 'expected an object', required_error: 'required' },
        )
        // Only names a bundle has: each is read from the extracted folder.
        .catchall(sha256Hex)
        .superRefine((files, ctx) => {
          for (const name of Object.keys(files)) {
            if (bundleFileKind(name) === undefined || name === 'manifest.json')
              ctx.addIssue({
                code: 'custom',
                path: [name],
                message:
                  'not a file of a model bundle (genes.txt, weights.bin, landmarks.json, weights-<k>.bin, landmarks-<k>.json)',
              });
          }
        }),
    },
    { invalid_type_error: 'expected a JSON object' },
  );
}

function landmarksSchema(embeddingSize: number) {
  const row = z
    .array(z.number({ invalid_type_error: 'expected a number' }).finite('expected a finite number'))
    .length(embeddingSize, `expected ${embeddingSize} numbers (the manifest's shape.embeddingSize)`);
  return z.object(
    {
      embeddingSize: z.literal(embeddingSize, {
        errorMap: () => ({ message: `expected ${embeddingSize} (the manifest's shape.embeddingSize)` }),
      }),
      institutions: z
        .array(
          z
            .object({
              institution: text(200),
              types: z.array(text(200)).min(1, 'expected at least one cell type').max(MAX_TYPES),
              cellCounts: z.array(wholeNumber(0, MAX_COUNT)).max(MAX_TYPES),
              landmarks: z.array(row).max(MAX_TYPES),
            })
            .superRefine((set, ctx) => {
              for (const key of ['cellCounts', 'landmarks'] as const) {
                if (set[key].length !== set.types.length)
                  ctx.addIssue({
                    code: 'custom',
                    path: [key],
                    message: `expected ${set.types.length} entries, one per type`,
                  });
              }
            }),
          { invalid_type_error: 'expected a list', required_error: 'required' },
        )
        .min(1, 'expected at least one landmark set')
        .max(MAX_INSTITUTIONS),
    },
    { invalid_type_error: 'expected a JSON object' },
  );
}

export type CheckedManifest = z.output<ReturnType<typeof manifestSchema>>;
type Manifest = CheckedManifest;
export type CheckedLandmarks = z.output<ReturnType<typeof landmarksSchema>>;

/** A bundle whose every file was checked against its manifest, parsed. */
export interface CheckedBundle {
  manifest: CheckedManifest;
  genes: string[];
  landmarks: CheckedLandmarks;
  /** An ensemble's further models, k = 1, 2, ...: their weights file and parsed landmarks. */
  members: { weightsFile: string; landmarks: CheckedLandmarks }[];
}

/**
 * Checks an extracted bundle in `dir` (its files' sizes capped by extractBundle) and parses it
 * (what loadBundle would read). Problems are InputErrors "<archive>: <file>: <field>: <what was
 * expected>"; a landmarks.json larger than the manifest explains is a BundleTooLargeError.
 * It costs seconds of CPU and hundreds of MiB for a big bundle: the api runs it in a thread.
 */
export async function checkBundle(
  dir: string,
  archiveName: string,
  limits: BundleCheckLimits,
): Promise<CheckedBundle> {
  const where = (file: string) => `${archiveName}: ${file}`;
  const manifest = parseWith(
    manifestSchema(limits),
    await readJson(dir, 'manifest.json', where('manifest.json')),
    where('manifest.json'),
  );
  const memberCount = (manifest.options.ensembleSize ?? 1) - 1;
  checkMemberFiles(manifest, memberCount, where('manifest.json'));
  await verifyChecksums(dir, manifest, archiveName);
  const { shape } = manifest;
  const total = parameterLayout(shape).total;
  if (manifest.parameterCount !== total) {
    throw new InputError(
      `${where('manifest.json')}: parameterCount: expected ${total}, what shape ${shape.inputSize} x ` +
        `${shape.hiddenSize} x ${shape.embeddingSize} takes`,
    );
  }
  const memberFiles = Array.from({ length: memberCount }, (_, i) => ({
    weights: `weights-${i + 1}.bin`,
    landmarks: `landmarks-${i + 1}.json`,
  }));
  for (const file of ['weights.bin', ...memberFiles.map((m) => m.weights)]) {
    const weightBytes = (await stat(join(dir, file))).size;
    if (weightBytes !== total * 4) {
      throw new InputError(
        `${where(file)}: ${weightBytes} bytes; the manifest's shape needs ${total * 4} (${total} float32)`,
      );
    }
  }
  const genes = (await readFile(join(dir, 'genes.txt'), 'utf8')).split('\n').filter((g) => g.length > 0);
  if (genes.length !== shape.inputSize) {
    throw new InputError(
      `${where('genes.txt')}: ${genes.length} genes; the manifest's shape.inputSize says ${shape.inputSize}`,
    );
  }
  const readLandmarks = async (file: string) => {
    await capLandmarks(dir, file, manifest, archiveName);
    return parseWith(
      landmarksSchema(shape.embeddingSize),
      await readJson(dir, file, where(file)),
      where(file),
    );
  };
  const landmarks = await readLandmarks('landmarks.json');
  const members = [];
  for (const m of memberFiles)
    members.push({ weightsFile: m.weights, landmarks: await readLandmarks(m.landmarks) });
  return { manifest, genes, landmarks, members };
}

/** An ensemble of n models lists exactly the weights and landmarks of models 1 .. n - 1. */
function checkMemberFiles(manifest: Manifest, memberCount: number, what: string): void {
  const expected = new Set<string>();
  for (let k = 1; k <= memberCount; k++) expected.add(`weights-${k}.bin`).add(`landmarks-${k}.json`);
  const listed = Object.keys(manifest.files).filter(isMemberFile);
  const size = memberCount + 1;
  for (const file of listed) {
    if (!expected.has(file))
      throw new InputError(
        `${what}: files: ${file} is listed but options.ensembleSize is ${size}, so the bundle holds models 0 to ${size - 1}`,
      );
  }
  for (const file of expected) {
    if (!listed.includes(file))
      throw new InputError(
        `${what}: files: ${file} is missing; options.ensembleSize ${size} needs weights-<k>.bin and landmarks-<k>.json for k = 1 to ${size - 1}`,
      );
  }
}

/** JSON of a double, its comma, a line break and saveBundle's indentation, with room to spare. */
const BYTES_PER_NUMBER = 40;
/** A type name of 200 characters, each escaped as \uXXXX, its count and punctuation. */
const BYTES_PER_TYPE = 200 * 6 + 64;
/** An institution's name, keys and punctuation; and the file's own. */
const BYTES_PER_SET = 200 * 6 + 256;
const BYTES_SLACK = 64 * 1024;

/**
 * Refuses, before reading it, a landmarks.json larger than the manifest explains: one set per
 * institution (one more for a merged set), each of at most the manifest's distinct cell types,
 * each of shape.embeddingSize numbers. A tiny model cannot bring 64 MiB of landmarks to parse.
 */
async function capLandmarks(
  dir: string,
  file: string,
  manifest: Manifest,
  archiveName: string,
): Promise<void> {
  const sets = manifest.institutions.length;
  const types = Math.max(1, new Set(manifest.institutions.flatMap((i) => i.types)).size);
  const e = manifest.shape.embeddingSize;
  const cap = BYTES_SLACK + (sets + 1) * (BYTES_PER_SET + types * (BYTES_PER_TYPE + e * BYTES_PER_NUMBER));
  const bytes = (await stat(join(dir, file))).size;
  if (bytes > cap) {
    throw new BundleTooLargeError(
      `${archiveName}: ${file} holds ${bytes} bytes; ${sets} institutions x ${types} cell types x ` +
        `${e} numbers (shape.embeddingSize) take at most ${cap} bytes`,
    );
  }
}

async function readJson(dir: string, file: string, what: string): Promise<unknown> {
  const text = await readFile(join(dir, file), 'utf8').catch(() => {
    throw new InputError(
      `${what}: missing from the archive; a model bundle holds manifest.json, genes.txt, weights.bin and landmarks.json`,
    );
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${what}: not valid JSON (${(e as Error).message})`);
  }
  // Postgres refuses NUL in JSON and text columns; anything else it stores.
  if (JSON.stringify(value).includes('\\u0000'))
    throw new InputError(`${what}: holds a NUL character (\\u0000)`);
  return value;
}

function parseWith<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as z.output<T>;
  const problems = parsed.error.issues.slice(0, 5).map((i) => {
    const field = i.path.join('.');
    return field ? `${field}: ${i.message}` : i.message;
  });
  throw new InputError(`${what}: ${problems.join('; ')}`);
}

/** Checksums first, so a damaged bundle is reported as damaged, not as inconsistent. */
async function verifyChecksums(dir: string, manifest: Manifest, archiveName: string): Promise<void> {
  for (const [file, expected] of Object.entries(manifest.files)) {
    const hash = createHash('sha256');
    // Streamed: weights.bin may be hundreds of MiB.
    try {
      for await (const chunk of createReadStream(join(dir, file))) hash.update(chunk as Buffer);
    } catch {
      throw new InputError(
        `${archiveName}: the archive has no ${file}; a model bundle holds manifest.json, genes.txt, weights.bin and landmarks.json`,
      );
    }
    if (hash.digest('hex') !== expected) {
      throw new InputError(
        `${archiveName}: ${file}: checksum mismatch; the model bundle is damaged or was edited`,
      );
    }
  }
}
