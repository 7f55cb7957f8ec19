import { access } from 'node:fs/promises';
import { InputError } from '@fl/formats';

/**
 * Checks that every path given to `option` exists before anything is read, so a mistyped
 * query folder is reported at once, naming the option (its default, such as `train_set`,
 * is otherwise a puzzle), and not after minutes of reading references.
 */
export async function checkPathsExist(option: string, paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    try {
      await access(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new InputError(`${option} ${path}: no such file or folder`, path);
      }
      throw err;
    }
  }
}
