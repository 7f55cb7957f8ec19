import { standardise, type Assignment, type LandmarkSet } from './assign';

/** One ensemble member's view of the query: its embeddings and its landmarks. */
export interface EnsembleMemberView {
  /** nCells x E, row-major, embedded with this member's parameters. */
  embeddings: Float32Array;
  /** Per institution, in the fixed tie-breaking order; the same sets and types in every member. */
  landmarkSets: readonly LandmarkSet[];
}

/**
 * Assignment with an ensemble of models trained on the same references with different seeds:
 * each (institution, type) landmark's Pearson correlation with the cell, averaged over the
 * members where it is usable, and the highest mean wins (ties to the first institution, then
 * the first type, as in `assignCells`). The mean correlation is the confidence.
 *
 * Averaging correlations, not embeddings: members' embedding spaces are not aligned (each is
 * its own rotation of the types), but each member's correlation with its own landmark of a type
 * means the same thing. With one member this is `assignCells` exactly (tested).
 */
export function assignEnsemble(
  members: readonly EnsembleMemberView[],
  nCells: number,
  embeddingSize: number,
): Assignment {
  const e = embeddingSize;
  if (members.length === 0) throw new Error('assignEnsemble: no members');
  if (!Number.isInteger(e) || e < 1) {
    throw new Error(`assignEnsemble: embeddingSize must be a positive integer, got ${e}`);
  }
  const shape = members[0].landmarkSets.map((s) => s.nTypes);
  const total = shape.reduce((a, b) => a + b, 0);
  const setOf = new Int32Array(total);
  const typeOf = new Int32Array(total);
  shape.reduce((slot, nTypes, set) => {
    for (let t = 0; t < nTypes; t++) {
      setOf[slot + t] = set;
      typeOf[slot + t] = t;
    }
    return slot + nTypes;
  }, 0);
  const sum = new Float64Array(nCells * total);
  const count = new Uint16Array(nCells * total);
  const unit = new Float64Array(total * e);
  const usable = new Uint8Array(total);
  const centred = new Float64Array(e);
  members.forEach((m, index) => {
    if (m.embeddings.length !== nCells * e) {
      throw new Error(
        `assignEnsemble: member ${index} has embeddings for ${m.embeddings.length / e} cells, expected ${nCells}`,
      );
    }
    if (m.landmarkSets.length !== shape.length || m.landmarkSets.some((s, i) => s.nTypes !== shape[i])) {
      throw new Error(`assignEnsemble: member ${index} has other institutions or types than member 0`);
    }
    let slot = 0;
    for (const s of m.landmarkSets) {
      if (s.landmarks.length !== s.nTypes * e) {
        throw new Error(
          `assignEnsemble: a landmark set of member ${index} must hold nTypes (${s.nTypes}) x E (${e}) values`,
        );
      }
      for (let t = 0; t < s.nTypes; t++, slot++)
        usable[slot] = standardise(s.landmarks, t * e, e, unit, slot * e) ? 1 : 0;
    }
    for (let cell = 0; cell < nCells; cell++) {
      const base = cell * e;
      let mean = 0;
      for (let k = 0; k < e; k++) mean += m.embeddings[base + k];
      mean /= e;
      let ss = 0;
      for (let k = 0; k < e; k++) {
        const d = m.embeddings[base + k] - mean;
        centred[k] = d;
        ss += d * d;
      }
      const invNorm = 1 / Math.sqrt(ss);
      if (!(ss > 0) || !Number.isFinite(invNorm)) continue;
      for (let l = 0; l < total; l++) {
        if (!usable[l]) continue;
        const off = l * e;
        let dot = 0;
        for (let k = 0; k < e; k++) dot += centred[k] * unit[off + k];
        sum[cell * total + l] += dot * invNorm;
        count[cell * total + l]++;
      }
    }
  });
  const bestSet = new Int32Array(nCells);
  const bestType = new Int32Array(nCells);
  const correlation = new Float32Array(nCells);
  for (let cell = 0; cell < nCells; cell++) {
    let best = -Infinity;
    let winner = -1;
    for (let l = 0; l < total; l++) {
      const n = count[cell * total + l];
      if (n === 0) continue;
      const r = sum[cell * total + l] / n;
      if (r > best) {
        best = r;
        winner = l;
      }
    }
    if (winner >= 0) {
      bestSet[cell] = setOf[winner];
      bestType[cell] = typeOf[winner];
      correlation[cell] = Math.min(1, Math.max(-1, best));
    }
  }
  return { bestSet, bestType, correlation };
}
