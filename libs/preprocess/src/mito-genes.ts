/**
 * Mitochondrial genes are recognised by name, as in the published step: a `MT-` prefix,
 * case-insensitive (so mouse `mt-Co1` counts too). Ensembl ids carry no such prefix.
 */
const MITO_PREFIX = /^mt-/i;
const ENSEMBL_ID = /^ENS[A-Z]*G\d+/i;

export function isMitochondrialGene(name: string): boolean {
  return MITO_PREFIX.test(name);
}

/** Column indices of the mitochondrial genes. */
export function mitochondrialGeneIndices(genes: readonly string[]): number[] {
  const out: number[] = [];
  genes.forEach((g, i) => {
    if (isMitochondrialGene(g)) out.push(i);
  });
  return out;
}

/** Why no mitochondrial gene was found, so the user can tell if the mito filter silently did nothing. */
export function noMitoGenesWarning(genes: readonly string[]): string {
  const sample = genes.slice(0, 1000);
  const ensembl = sample.filter((g) => ENSEMBL_ID.test(g)).length;
  const hint =
    ensembl > sample.length / 2
      ? ' Gene names look like Ensembl ids; use gene symbols (e.g. features.tsv column 2) for the filter to work.'
      : '';
  return `no mitochondrial genes found (names starting "MT-", case-insensitive): the mitochondrial filter removed nothing.${hint}`;
}
