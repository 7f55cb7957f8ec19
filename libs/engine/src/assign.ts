/** Landmarks of one institution: nTypes x E, row-major. */
export interface LandmarkSet {
  landmarks: Float32Array;
  nTypes: number;
}

/** Per query cell: winning institution (index into the landmark sets), its type, and r. */
export interface Assignment {
  bestSet: Int32Array;
  bestType: Int32Array;
  correlation: Float32Array;
}

/**
 * Assigns query cells to landmarks (ALGORITHM.md §7): the Pearson correlation of each cell's
 * embedding with every landmark; the best type per institution; the highest correlation over
 * institutions wins. Ties go to the first institution (a later one must be strictly greater)
 * and, within an institution, to the first type.
 *
 * Landmarks are centred and scaled to unit norm once, so a correlation is one E-long dot
 * product. A landmark with zero variance or non-finite values has no correlation and is never
 * chosen. A cell whose embedding has zero variance (or is not finite) correlates with nothing;
 * it is reported as set 0, type 0 with correlation 0 (as `numpy.argmax` over NaNs would pick
 * the first), so a positive rejection threshold turns it into `unassigned`. Likewise when no
 * landmark at all is usable.
 *
 * @param queryEmbeddings nCells x E, row-major
 * @param landmarkSets per institution, in the fixed tie-breaking order
 */
export function assignCells(
  queryEmbeddings: Float32Array,
  nCells: number,
  embeddingSize: number,
  landmarkSets: readonly LandmarkSet[],
): Assignment {
  const e = embeddingSize;
  if (!Number.isInteger(e) || e < 1) {
    throw new Error(`assignCells: embeddingSize must be a positive integer, got ${e}`);
  }
  if (!Number.isInteger(nCells) || nCells < 0 || queryEmbeddings.length !== nCells * e) {
    throw new Error(`assignCells: queryEmbeddings must hold nCells (${nCells}) x E (${e}) values`);
  }
  // All usable landmarks, standardised, in (set, type) order.
  let total = 0;
  landmarkSets.forEach((s, i) => {
    if (!Number.isInteger(s.nTypes) || s.nTypes < 0 || s.landmarks.length !== s.nTypes * e) {
      throw new Error(`assignCells: landmark set ${i} must hold nTypes (${s.nTypes}) x E (${e}) values`);
    }
    total += s.nTypes;
  });
  const unit = new Float64Array(total * e);
  const setOf = new Int32Array(total);
  const typeOf = new Int32Array(total);
  let usable = 0;
  landmarkSets.forEach((s, setIndex) => {
    for (let t = 0; t < s.nTypes; t++) {
      if (standardise(s.landmarks, t * e, e, unit, usable * e)) {
        setOf[usable] = setIndex;
        typeOf[usable] = t;
        usable++;
      }
    }
  });

  const bestSet = new Int32Array(nCells);
  const bestType = new Int32Array(nCells);
  const correlation = new Float32Array(nCells);
  const centred = new Float64Array(e);
  for (let cell = 0; cell < nCells; cell++) {
    const base = cell * e;
    let mean = 0;
    for (let k = 0; k < e; k++) mean += queryEmbeddings[base + k];
    mean /= e;
    let ss = 0;
    for (let k = 0; k < e; k++) {
      const d = queryEmbeddings[base + k] - mean;
      centred[k] = d;
      ss += d * d;
    }
    const invNorm = 1 / Math.sqrt(ss);
    let best = -Infinity;
    let winner = -1;
    if (ss > 0 && Number.isFinite(invNorm)) {
      for (let l = 0; l < usable; l++) {
        const off = l * e;
        let dot = 0;
        for (let k = 0; k < e; k++) dot += centred[k] * unit[off + k];
        const r = dot * invNorm;
        // Strictly greater: the first (set, type) keeps a tie. Sets are scanned in order, so
        // this is also "best per set, then highest over sets, ties to the first set".
        if (r > best) {
          best = r;
          winner = l;
        }
      }
    }
    if (winner < 0) {
      bestSet[cell] = 0;
      bestType[cell] = 0;
      correlation[cell] = 0;
    } else {
      bestSet[cell] = setOf[winner];
      bestType[cell] = typeOf[winner];
      correlation[cell] = Math.min(1, Math.max(-1, best));
    }
  }
  return { bestSet, bestType, correlation };
}

/** (v - mean) / ||v - mean|| into out[outOffset..]; false if v has no variance or is not finite. */
export function standardise(
  v: Float32Array,
  offset: number,
  e: number,
  out: Float64Array,
  outOffset: number,
): boolean {
  let mean = 0;
  for (let k = 0; k < e; k++) mean += v[offset + k];
  mean /= e;
  let ss = 0;
  for (let k = 0; k < e; k++) {
    const d = v[offset + k] - mean;
    ss += d * d;
  }
  if (!(ss > 0) || !Number.isFinite(ss)) return false;
  const inv = 1 / Math.sqrt(ss);
  for (let k = 0; k < e; k++) out[outOffset + k] = (v[offset + k] - mean) * inv;
  return true;
}
