/**
 * Bytes of W1 per gene chunk. xnnpack's GEMM (the wasm backend's matMul) does not block the
 * shared dimension: it streams the whole packed weight matrix once per few rows of the input.
 * At F = 20,000 genes W1 is 40 MB, so the product runs from main memory; split into slices of
 * genes of a few MB, each slice stays in cache. Measured (H = 500, 2-core EPYC): at F = 20,000,
 * embedding 1,070 -> 1,650 cells/s and training 10.9 -> 12.0 steps/s; 1 to 8 MB chunks all
 * about equal; 4 MB keeps F = 2,000 in one chunk (slightly faster there).
 */
const TARGET_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Boundaries of the gene chunks the first layer is split into: chunk c covers genes
 * bounds[c] .. bounds[c+1]-1. Chunks are near-equal, at most about 4 MB of W1 each (a single chunk for
 * small F).
 *
 * @param nGenes number of genes (rows of W1)
 * @param hiddenSize H (columns of W1)
 * @returns Int32Array of length nChunks + 1, from 0 to nGenes
 */
export function geneChunkBounds(nGenes: number, hiddenSize: number): Int32Array {
  if (!Number.isInteger(nGenes) || nGenes < 0 || !Number.isInteger(hiddenSize) || hiddenSize < 1) {
    throw new Error(
      `geneChunkBounds: expected nGenes >= 0 and hiddenSize >= 1, got ${nGenes}, ${hiddenSize}`,
    );
  }
  const target = Math.max(64, Math.floor(TARGET_CHUNK_BYTES / (4 * hiddenSize)));
  const nChunks = Math.max(1, Math.ceil(nGenes / target));
  const bounds = new Int32Array(nChunks + 1);
  for (let c = 0; c <= nChunks; c++) bounds[c] = Math.round((c * nGenes) / nChunks);
  return bounds;
}
