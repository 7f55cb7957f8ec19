import { InputError } from '@fl/formats';
import type { LoadedDataset } from './load-datasets';

/**
 * Checks what the federation would otherwise refuse deep inside (as an unexpected error):
 * institution names (from file names) must differ, and a secure aggregation threshold must be a
 * majority of the institutions. One institution trains without secure aggregation (there is
 * nothing to aggregate), so its threshold does not apply.
 */
export function checkFederation(
  references: readonly LoadedDataset[],
  secure: { on: boolean; threshold?: number },
): void {
  const byName = new Map<string, string>();
  for (const r of references) {
    const other = byName.get(r.name);
    if (other !== undefined) {
      throw new InputError(
        `${other} and ${r.path} both name institution "${r.name}" (one file = one institution, named ` +
          'after the file): rename one',
        r.path,
      );
    }
    byName.set(r.name, r.path);
  }
  const k = references.length;
  if (!secure.on || k < 2) return;
  const t = secure.threshold;
  const lowest = Math.max(2, Math.floor(k / 2) + 1);
  if (t !== undefined && (t < lowest || t > k)) {
    throw new InputError(
      `--secagg-threshold ${t}: with ${k} institutions the threshold must be a majority of them, ` +
        (lowest === k ? `i.e. ${k}` : `from ${lowest} to ${k}`),
    );
  }
}
