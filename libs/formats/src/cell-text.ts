import { InputError } from './input-error';

// eslint-disable-next-line no-control-regex -- control characters are what is looked for
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Cell ids and labels end up in tab-separated and CSV outputs (result.txt,
 * predictions.csv) and in logs: a TAB, CR or LF inside one would split a line
 * there, so any control character is refused where the file is read.
 * `where` is the file and position, e.g. `ref.csv, line 7`.
 */
export function assertPrintable(
  text: string,
  what: 'cell id' | 'cell_label',
  where: string,
  file: string,
  line?: number,
): void {
  const at = text.search(CONTROL);
  if (at < 0) return;
  const code = text.charCodeAt(at).toString(16).toUpperCase().padStart(4, '0');
  throw new InputError(
    `${where}: ${what} ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text)} contains a control character ` +
      `(U+${code}, position ${at + 1}); cell ids and labels must be printable text without tabs or line breaks`,
    file,
    line,
  );
}
