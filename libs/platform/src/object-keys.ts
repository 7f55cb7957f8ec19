/**
 * Object-store key layout (one bucket per consortium deployment). Tenant data lives under
 * `institutions/<name>/`; federation artefacts under `federations/<id>/`.
 */
export const objectKeys = {
  dataset: (institution: string, datasetId: string, fileName: string) =>
    `institutions/${institution}/datasets/${datasetId}/${fileName}`,
  genes: (federationId: string) => `federations/${federationId}/genes.txt`,
  /** Every institution's genes united, when the model's genes are then chosen from them. */
  geneUnion: (federationId: string) => `federations/${federationId}/gene-union.txt`,
  /** One institution's gene scores (masked, under secure aggregation) for choosing the genes. */
  geneScores: (federationId: string, institution: string) =>
    `federations/${federationId}/gene-statistics/${institution}.bin`,
  model: (federationId: string, round: number) =>
    `federations/${federationId}/models/round-${String(round).padStart(5, '0')}/weights.bin`,
  /** Secure aggregation: one round's unmasked sum of encoded updates (the compact broadcast). */
  aggregate: (federationId: string, round: number) =>
    `federations/${federationId}/rounds/${String(round).padStart(5, '0')}/aggregate.bin`,
  /** Prefix of every model version object of a federation (retention sweeps it). */
  models: (federationId: string) => `federations/${federationId}/models/`,
  /** One institution's (masked, under secure aggregation) update of one round. */
  update: (federationId: string, round: number, institution: string) =>
    `federations/${federationId}/rounds/${String(round).padStart(5, '0')}/${institution}.bin`,
  /** Model `member` of an ensemble's landmarks: model 0's (a single model's) keep the plain name. */
  landmarks: (federationId: string, institution: string, member = 0) =>
    `federations/${federationId}/landmarks/${member > 0 ? `${member}/` : ''}${institution}.json`,
  importedModel: (modelVersionId: string, file: string) => `models/${modelVersionId}/${file}`,
  annotationInput: (jobId: string, fileName: string) => `annotations/${jobId}/input/${fileName}`,
  annotationResult: (jobId: string, file: 'result.txt' | 'predictions.csv') => `annotations/${jobId}/${file}`,
};

/** Prefix every key of an institution's own data starts with. */
export function institutionPrefix(institution: string): string {
  return `institutions/${institution}/`;
}
