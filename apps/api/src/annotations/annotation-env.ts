import { envWholeNumber } from '@fl/platform';

/** The environment settings of annotation jobs, read by the api and by the standalone consumer. */
export const annotationEnvFields = {
  ANNOTATION_TIMEOUT_SECONDS: envWholeNumber(
    'a whole number of seconds (at least 1)',
    1,
    7 * 24 * 3600,
  ).default('900'),
  ANNOTATION_MAX_MEMORY_MB: envWholeNumber(
    'a whole number of megabytes (at least 64)',
    64,
    1024 * 1024,
  ).default('4096'),
};
