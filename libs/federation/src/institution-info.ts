import type { InstitutionData } from './local-institution';
import type { InstitutionInfo } from './messages';

export function institutionInfo(data: InstitutionData, index: number): InstitutionInfo {
  return {
    index,
    name: data.name,
    numExamples: data.nCells,
    types: data.labels.types,
    typeCounts: data.labels.counts,
  };
}
