import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '@fl/formats';

const statOrUndefined = (path: string) => stat(path).catch(() => undefined);

/**
 * An output file option (`--out`) that names an existing folder would fail only when the
 * results are written, after training: refuse it up front.
 */
export async function checkOutputFile(option: string, path: string): Promise<void> {
  if ((await statOrUndefined(path))?.isDirectory()) {
    throw new InputError(
      `${option} ${path} is a folder; give a file name, e.g. ${join(path, 'result.txt')}`,
      path,
    );
  }
}

/**
 * A model bundle replaces its folder whole (it is swapped in complete), so `--model-dir` may
 * name only a new or empty folder or an earlier bundle: a mistyped path must never delete a
 * reference file or someone's folder.
 */
export async function checkModelDir(path: string): Promise<void> {
  const info = await statOrUndefined(path);
  if (info === undefined) return;
  if (!info.isDirectory()) {
    throw new InputError(`--model-dir ${path} is a file; the model bundle is a folder: name a new one`, path);
  }
  const entries = await readdir(path);
  if (entries.length === 0 || entries.includes('manifest.json')) return;
  const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', ...' : '');
  throw new InputError(
    `--model-dir ${path} is not a model bundle (it holds ${shown}); a new bundle replaces its folder ` +
      'whole, so name a new or empty folder',
    path,
  );
}
