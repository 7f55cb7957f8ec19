import { basename } from 'node:path';

/**
 * Which container a data file is, decided by its name alone (so that a folder
 * listing and a reader agree without opening anything).
 */
export type FileKind = { kind: 'delimited'; delimiter: ',' | '\t'; gzip: boolean } | { kind: 'h5ad' };

/** Every extension a cells x genes file may have, for listings and error messages. */
export const DATA_EXTENSIONS = ['.csv', '.csv.gz', '.tsv', '.tsv.gz', '.txt', '.txt.gz', '.h5ad'] as const;

/** The kind of `path`, or undefined when its extension is not one we read. */
export function fileKind(path: string): FileKind | undefined {
  const name = basename(path).toLowerCase();
  const gzip = name.endsWith('.gz');
  const bare = gzip ? name.slice(0, -3) : name;
  if (bare.endsWith('.csv')) return { kind: 'delimited', delimiter: ',', gzip };
  if (bare.endsWith('.tsv') || bare.endsWith('.txt')) return { kind: 'delimited', delimiter: '\t', gzip };
  if (!gzip && bare.endsWith('.h5ad')) return { kind: 'h5ad' };
  return undefined;
}

/**
 * The name a data set goes by in reports and model bundles: the file name
 * without its data extensions (`wang.csv.gz` -> `wang`, `a/b/pbmc.h5ad` -> `pbmc`).
 * A 10x folder keeps its folder name.
 */
export function datasetName(path: string): string {
  const name = basename(path.replace(/[/\\]+$/, ''));
  const lower = name.toLowerCase();
  for (const ext of [...DATA_EXTENSIONS].sort((a, b) => b.length - a.length)) {
    if (lower.endsWith(ext) && lower.length > ext.length) return name.slice(0, -ext.length);
  }
  return name;
}

export function acceptedExtensionsText(): string {
  return DATA_EXTENSIONS.join(', ');
}
