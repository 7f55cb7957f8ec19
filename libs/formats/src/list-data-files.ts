import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { asInputError } from './byte-chunks';
import { acceptedExtensionsText, fileKind } from './file-kind';
import { InputError } from './input-error';

/**
 * The data files of a folder (not recursive): supported extensions only, hidden
 * files skipped, sorted by file name in byte order so that every machine lists
 * institutions in the same order. A path that is a file is returned alone.
 */
export async function listDataFiles(dir: string): Promise<string[]> {
  let info;
  try {
    info = await stat(dir);
  } catch (err) {
    throw asInputError(err, dir, false);
  }
  if (!info.isDirectory()) return [dir];
  const entries = await readdir(dir, { withFileTypes: true });
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || fileKind(entry.name) === undefined) continue;
    // Follow symbolic links; keep only what ends up being a file.
    const isFile = entry.isFile() || (entry.isSymbolicLink() && (await isFileAt(join(dir, entry.name))));
    if (isFile) names.push(entry.name);
  }
  if (names.length === 0) {
    throw new InputError(`${dir}: no data files in this folder; accepted: ${acceptedExtensionsText()}`, dir);
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return names.map((name) => join(dir, name));
}

async function isFileAt(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
