import { readExpression } from '@fl/formats';
import { trainFederatedModel } from '@fl/federation';
import type { FederationOptions } from '../federation-driver';

/**
 * The three PBMC institutions of examples/pbmc-mini (cut from ../shared/datasets/pbmc; see that
 * folder's README), in federation order: what the in-memory federation tests train on.
 */
export const PBMC_MINI_REFERENCES = [
  { institution: 'pbmc3k-10x-v1', path: 'examples/pbmc-mini/train/pbmc3k_10x_v1.csv.gz' },
  { institution: 'pbmc-10x-3p-v2', path: 'examples/pbmc-mini/train/pbmc_10x_3p_v2.tsv.gz' },
  { institution: 'pbmc-10x-5p-vdj', path: 'examples/pbmc-mini/train/pbmc_10x_5p_vdj.csv.gz' },
];

/** The embedded federation (`scprivacy run`'s) of the same files and options: what a distributed run must equal. */
export async function embeddedFederation(
  options: FederationOptions,
  institutions: readonly { institution: string; path: string }[] = PBMC_MINI_REFERENCES,
) {
  const refs = [];
  for (const r of institutions)
    refs.push({ name: r.institution, matrix: await readExpression(r.path, { role: 'reference' }) });
  return trainFederatedModel(refs, {
    ...options,
    backend: 'cpu',
    threads: 1,
    secureAggregation: options.secureAggregation ? {} : false,
  });
}
