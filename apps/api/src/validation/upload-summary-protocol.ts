import type { DatasetRole, ReadLimitName, ReadLimits } from '@fl/formats';
import type { PreparedBundle } from '../models/bundle-prepare';

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

/** What the api asks a validation thread about an imported model bundle extracted in `dir`. */
export interface BundleCheckRequest {
  task: 'bundle';
  dir: string;
  archiveName: string;
  maxGenes: number;
  /** Where the thread writes the bundle's genes and landmark objects, ready to store. */
  outDir: string;
}

export type BundleCheckAnswer = { ok: true; bundle: PreparedBundle } | { ok: false; error: SerializedError };

/** Every job a validation thread takes: a dataset file (no `task`, as before) or a bundle. */
export type ValidationRequest = (SummaryRequest & { task?: 'summary' }) | BundleCheckRequest;
export type ValidationAnswer = SummaryAnswer | BundleCheckAnswer;
