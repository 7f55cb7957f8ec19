/**
 * How many of the genes an institution measures a typical cell of it detects: non-zero values
 * over (cells x genes with a non-zero value in at least one of its cells). Genes it does not
 * measure (zero-filled when aligned to the federation's genes) do not count.
 *
 * Why: it tells plate-based data (Smart-seq2, SMARTer, CEL-seq2: 26-45% in the shared
 * datasets) from droplet data (10x, inDrop: 7-16%), which gene dropout helps and harms
 * respectively (docs/algorithm.md, Presets). Each institution computes it on its own cells.
 *
 * @param values cells x genes, row-major
 */
export function detectionRate(values: Float32Array, nCells: number, nGenes: number): number {
  if (values.length !== nCells * nGenes) {
    throw new Error(`detectionRate: values has ${values.length} entries; expected ${nCells} x ${nGenes}`);
  }
  const measured = new Uint8Array(nGenes);
  let detected = 0;
  for (let c = 0; c < nCells; c++) {
    const row = c * nGenes;
    for (let g = 0; g < nGenes; g++) {
      if (values[row + g] !== 0) {
        detected++;
        measured[g] = 1;
      }
    }
  }
  let genes = 0;
  for (let g = 0; g < nGenes; g++) genes += measured[g];
  return genes === 0 ? 0 : detected / (nCells * genes);
}

/**
 * The gene dropout an institution applies: `inputDropout`, unless `inputDropoutMinDetection` is
 * set and the institution's detection rate, on all its genes (before any gene selection: a
 * property of its data, not of the genes chosen), is below it. Decided on its own cells.
 *
 * @param values its cells x nGenes (its own genes, or aligned to the union: the same rate)
 */
export function institutionDropout(
  data: { values: Float32Array; nCells: number },
  nGenes: number,
  options: { inputDropout?: number; inputDropoutMinDetection?: number },
): { rate: number; detection?: number } {
  const rate = options.inputDropout ?? 0;
  const least = options.inputDropoutMinDetection ?? 0;
  if (rate === 0 || least === 0) return { rate };
  const detection = detectionRate(data.values, data.nCells, nGenes);
  return { rate: detection >= least ? rate : 0, detection };
}

/**
 * An institution's detected values: its non-zero entries, over all its genes (or aligned to the
 * union: the same count). With `detectedValuesPerGene` it bounds the institution's share of the
 * variable genes (`institutionGeneCount`); the platform's institutions report it in `describe`.
 */
export function countDetectedValues(values: Float32Array): number {
  let detected = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) detected++;
  return detected;
}
