import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Dataset, File as H5File, Group, OutputData } from 'h5wasm/node';
import { asInputError } from './byte-chunks';
import { InputError } from './input-error';

export type { Dataset, Group, H5File };
type H5wasm = typeof import('h5wasm/node');

let loading: Promise<H5wasm> | undefined;
let lib: H5wasm | undefined;

/**
 * h5wasm, loaded on first use: importing it compiles and starts a 4 MB
 * WebAssembly module, which CSV-only runs should not pay for.
 */
export async function loadH5wasm(): Promise<H5wasm> {
  loading ??= import('h5wasm/node').then(async (m) => {
    await m.ready;
    lib = m;
    return m;
  });
  return loading;
}

function loaded(): H5wasm {
  if (lib === undefined) throw new Error('h5wasm used before loadH5wasm()');
  return lib;
}

export function isDataset(entity: unknown): entity is Dataset {
  return entity instanceof loaded().Dataset;
}

export function isGroup(entity: unknown): entity is Group {
  return entity instanceof loaded().Group;
}

/** HDF5 format signature; the superblock sits at byte 0 or after a 512 * 2^k user block. */
const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Opens an HDF5 file for reading, checking first that it is one: h5wasm (libhdf5)
 * would otherwise print a page of HDF5-DIAG noise to stderr and hand back an
 * invalid file id rather than throw.
 */
export async function openH5(path: string): Promise<H5File> {
  let size: number;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new InputError(`${path} is a folder; expected an .h5ad file`, path);
    size = s.size;
  } catch (err) {
    throw asInputError(err, path, false);
  }
  if (!(await hasSignature(path, size))) {
    throw new InputError(`${path}: not an HDF5 file, so not a readable .h5ad (AnnData) file`, path);
  }
  const h5 = await loadH5wasm();
  const file = new h5.File(resolve(path), 'r');
  if (file.file_id < 0n) throw new InputError(`${path}: the HDF5 file could not be opened (damaged?)`, path);
  return file;
}

async function hasSignature(path: string, size: number): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(SIGNATURE.length);
    for (let offset = 0; offset + SIGNATURE.length <= size; offset = offset === 0 ? 512 : offset * 2) {
      const { bytesRead } = await handle.read(head, 0, head.length, offset);
      if (bytesRead === head.length && head.equals(SIGNATURE)) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

/** The child `name` of `group` if it exists (checking keys first keeps libhdf5 quiet). */
export function child(group: Group, name: string): Dataset | Group | undefined {
  if (!group.keys().includes(name)) return undefined;
  const entity = group.get(name);
  return isDataset(entity) || isGroup(entity) ? entity : undefined;
}

/** An attribute's value, or undefined when absent. */
export function attr(obj: Dataset | Group, name: string): OutputData | undefined {
  const attrs = obj.attrs;
  if (!(name in attrs)) return undefined;
  return attrs[name].value ?? undefined;
}

/** A string attribute (anndata writes them as variable-length UTF-8; old files as bytes). */
export function stringAttr(obj: Dataset | Group, name: string): string | undefined {
  const value = attr(obj, name);
  if (value === undefined) return undefined;
  const strings = decodeStrings(value);
  return strings.length === 1 ? strings[0] : undefined;
}

/** Numbers of an attribute such as `shape` (int64 arrives as BigInt64Array). */
export function numbersAttr(obj: Dataset | Group, name: string): number[] | undefined {
  const value = attr(obj, name);
  if (value === undefined) return undefined;
  if (ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<number | bigint>, Number);
  if (Array.isArray(value)) return value.map((v) => Number(v));
  if (typeof value === 'number' || typeof value === 'bigint') return [Number(value)];
  return undefined;
}

const utf8 = new TextDecoder();

/**
 * Strings as h5wasm returns them: an array of JS strings (variable or fixed
 * length), of byte arrays (opaque or unusual string types), a bare string for a
 * scalar, or numbers (an index written as integers).
 */
export function decodeStrings(value: OutputData): string[] {
  if (typeof value === 'string') return [value];
  if (value instanceof Uint8Array) return [utf8.decode(value)];
  if (ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<number | bigint>, (v) => String(v));
  if (Array.isArray(value)) {
    return value.map((v) => {
      if (typeof v === 'string') return v;
      if (v instanceof Uint8Array) return utf8.decode(v).replace(/\0+$/, '');
      return String(v);
    });
  }
  return [String(value)];
}

/** Whether a dataset holds strings (HDF5 class 3) rather than numbers. */
export function isStringDataset(ds: Dataset): boolean {
  return ds.metadata.type === 3;
}

/** Whether a dataset holds integers (class 0) or floats (class 1). */
export function isNumericDataset(ds: Dataset): boolean {
  const type = ds.metadata.type;
  return type === 0 || type === 1;
}
