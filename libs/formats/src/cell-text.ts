import { InputError } from './input-error';

/**
 * Cell ids and labels end up in tab-separated and CSV outputs (result.txt,
 * predictions.csv) and in logs: a TAB, CR or LF inside one would split a line
 * there, so any control character is refused where the file is read.
 * The message names `file`, then `line` and `detail` when given (e.g. "obs row 7").
 */
export function assertPrintable(
  text: string,
  what: 'cell id' | 'cell_label',
  file: string,
  line?: number,
  detail?: string,
): void {
  const at = firstControl(text);
  if (at < 0) return;
  const where = [file, line === undefined ? '' : `line ${line}`, detail ?? ''].filter(Boolean).join(', ');
  const code = text.charCodeAt(at).toString(16).toUpperCase().padStart(4, '0');
  throw new InputError(
    `${where}: ${what} ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text)} contains a control character ` +
      `(U+${code}, position ${at + 1}); cell ids and labels must be printable text without tabs or line breaks`,
    file,
    line,
  );
}

/** Index of the first C0 / DEL / C1 control character, or -1 (a loop: called for every cell). */
function firstControl(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return i;
  }
  return -1;
}
