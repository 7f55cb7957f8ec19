import { InputError } from '@fl/formats';

/**
 * The message of a file that could not be read, as the person who sent it knows the file: the
 * parser names our temporary path, which is replaced by the file's own name. Parser messages
 * (InputError) already say the line or field and what was expected; anything else (a broken
 * .gz, an unreadable .h5ad) is prefixed with the file name.
 */
export function inputProblem(error: unknown, tempDir: string, fileName: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const cleaned = message.split(`${tempDir}/`).join('').split(tempDir).join(fileName);
  if (error instanceof InputError || cleaned.includes(fileName)) return cleaned;
  return `${fileName} could not be read: ${cleaned}`;
}
