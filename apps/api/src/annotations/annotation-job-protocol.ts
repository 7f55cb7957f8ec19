import type { MinioStoreOptions } from '@fl/storage';
import type { RunOutcome } from './annotation-runner';

/** What the api sends the process that runs one annotation job (over IPC: never in argv or env). */
export interface AnnotationJobMessage {
  jobId: string;
  /** The attempt the api claimed; the child's final row update is conditional on it. */
  attempt: number;
  databaseUrl: string;
  s3: MinioStoreOptions;
  threads?: number;
}

/** The child's one answer. */
export interface AnnotationJobAnswer {
  outcome: RunOutcome;
}
