import { InputError } from './input-error';

/**
 * Gene names of an expression file must be unique ignoring case: genes are
 * matched across institutions case-insensitively (the published code lower-
 * cases them), so `CD3E` and `cd3e` in one file would silently collide later.
 *
 * `where(i)` describes gene i's position for the message ("column 7",
 * "var index entry 7"); `line` is the header line for text files.
 */
export function assertUniqueGenes(
  genes: readonly string[],
  file: string,
  where: (index: number) => string,
  line?: number,
): void {
  const seen = new Map<string, number>();
  const at = line === undefined ? file : `${file}, line ${line}`;
  for (let i = 0; i < genes.length; i++) {
    const name = genes[i];
    if (name.trim() === '') {
      throw new InputError(
        `${at}: the gene name in ${where(i)} is empty; every gene needs a name`,
        file,
        line,
      );
    }
    const key = name.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      continue;
    }
    const other = genes[first];
    const what =
      other === name
        ? `gene "${name}" appears twice (${where(first)} and ${where(i)})`
        : `genes "${other}" (${where(first)}) and "${name}" (${where(i)}) differ only in case`;
    throw new InputError(
      `${at}: ${what}; gene names are matched case-insensitively, so each must be unique ` +
        '(sum or drop the duplicates first)',
      file,
      line,
    );
  }
}
