import type { DatasetRole, ReadLimitName, ReadLimits } from '@fl/formats';

/** What the api asks a validation thread: summarize one file within the read limits. */
export interface SummaryRequest {
  path: string;
  role: DatasetRole;
  limits: ReadLimits;
  limitSettings: Partial<Record<ReadLimitName, string>>;
}

/** What the thread keeps of a file: counts, never the matrix. */
export interface UploadSummary {
  cells: number;
  genes: number;
  /** Absent when the file has no cell_label column. */
  typeCounts?: Record<string, number>;
}

/**
 * An error crosses the thread boundary as plain data (structured clone drops the class);
 * the api rebuilds InputError / InputLimitError so that 400 and 413 are told apart as before.
 */
export interface SerializedError {
  name: string;
  message: string;
  limit?: ReadLimitName;
  file?: string;
  line?: number;
}

export type SummaryAnswer = { ok: true; summary: UploadSummary } | { ok: false; error: SerializedError };
