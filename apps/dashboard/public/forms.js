// Pure helpers of the console's forms: what the user typed, checked and turned into the api's
// input, with one message per field at fault (the field's element id and what was expected).
// No DOM here, so the unit tests (apps/dashboard/src/forms.spec.ts) import this module directly.
// The api validates everything again; these checks only answer before a round trip.

/** As the api: 1-63 lower-case letters, digits and dashes (certificate name, queue name). */
const INSTITUTION_NAME = /^[a-z0-9-]{1,63}$/;

export function registrationProblems({ name, displayName }) {
  const errors = [];
  if (!INSTITUTION_NAME.test(name ?? '')) {
    errors.push({
      field: 'reg-name',
      message:
        'Name: 1 to 63 lower-case letters, digits and dashes (it becomes the certificate and queue name), e.g. "hospital-a".',
    });
  }
  if (!(displayName ?? '').trim()) {
    errors.push({
      field: 'reg-display',
      message: 'Display name: required, e.g. "Hospital A, Department of Haematology".',
    });
  }
  return errors;
}

export function csrProblems(csrPem) {
  const text = (csrPem ?? '').trim();
  if (
    !/^-----BEGIN CERTIFICATE REQUEST-----\s*[A-Za-z0-9+/=][\s\S]*-----END CERTIFICATE REQUEST-----$/.test(
      text,
    )
  ) {
    return [
      {
        field: 'csr-pem',
        message:
          'Certificate request: paste the whole institution.csr.pem that the worker wrote with --init, from "-----BEGIN CERTIFICATE REQUEST-----" to "-----END CERTIFICATE REQUEST-----".',
      },
    ];
  }
  return [];
}

/** Limits of StartFederationInput (docs/platform.md, section 2.8). */
const LIMITS = {
  rounds: [1, 100_000],
  localSteps: [1, 10_000],
  roundDeadlineSeconds: [10, 604_800],
  hiddenSize: [1, 100_000],
  embeddingSize: [1, 10_000],
  ensembleSize: [1, 16],
};

function wholeNumber(text, field, label, [min, max], errors) {
  const value = Number(text);
  if (text === '' || !Number.isInteger(value) || value < min || value > max) {
    errors.push({ field, message: `${label}: a whole number from ${min} to ${max}, got "${text}".` });
    return undefined;
  }
  return value;
}

/**
 * The start form's values → StartFederationInput. `values`: strings as typed (name, preset,
 * rounds, localSteps, learningRate, seed, roundDeadlineSeconds, checkpointEvery, threshold,
 * weighting, hiddenSize, embeddingSize, variableGenes, variableGenesPerCell, detectedValuesPerGene, ensembleSize,
 * inputDropout), `secureAggregation` (boolean), `institutions` (names, in the order chosen) and
 * `datasets` ({ institution: [dataset ids] }, empty = all of them). Empty optional fields are left
 * out, so the api (or the preset) chooses. Returns { input, errors }.
 */
export function federationInput(values, { consortiumId, presets = [] }) {
  const errors = [];
  const input = { consortiumId };
  const name = (values.name ?? '').trim();
  if (!name || name.length > 200) errors.push({ field: 'fed-name', message: 'Name: 1 to 200 characters.' });
  input.name = name;

  if (values.preset) {
    const preset = presets.find((p) => p.name === values.preset);
    if (!preset) errors.push({ field: 'fed-preset', message: `Preset: unknown "${values.preset}".` });
    else if (!preset.availableOnPlatform) {
      errors.push({
        field: 'fed-preset',
        message: `Preset "${preset.name}" runs only in the command line so far (scprivacy run --preset ${preset.name}).`,
      });
    } else input.preset = preset.name;
  }
  for (const [key, label] of [
    ['rounds', 'Rounds'],
    ['localSteps', 'Local steps'],
    ['roundDeadlineSeconds', 'Round deadline (seconds)'],
    ['hiddenSize', 'Hidden layer size'],
    ['embeddingSize', 'Embedding size'],
    ['ensembleSize', 'Models (ensemble)'],
  ]) {
    const text = (values[key] ?? '').trim();
    if (text !== '') input[key] = wholeNumber(text, `fed-${key}`, label, LIMITS[key], errors);
  }
  if (input.embeddingSize !== undefined && input.embeddingSize > (input.hiddenSize ?? 500)) {
    errors.push({
      field: 'fed-embeddingSize',
      message: `Embedding size: at most the hidden layer size (${input.hiddenSize ?? 500}), got ${input.embeddingSize}.`,
    });
  }
  const lr = (values.learningRate ?? '').trim();
  if (lr !== '') {
    const value = Number(lr);
    if (!(value > 0 && value <= 1)) {
      errors.push({
        field: 'fed-learningRate',
        message: `Learning rate: a number above 0 and at most 1, got "${lr}".`,
      });
    } else input.learningRate = value;
  }
  const genes = (values.variableGenes ?? '').trim();
  if (genes !== '') {
    const value = Number(genes);
    // The api's rule (isVariableGeneCount): 0 keeps every gene; a chosen set needs 50 or more.
    if (!Number.isInteger(value) || (value !== 0 && (value < 50 || value > 1_000_000))) {
      errors.push({
        field: 'fed-variableGenes',
        message: `Variable genes per institution: 0 (every gene) or a whole number from 50 to 1000000, got "${genes}".`,
      });
    } else input.variableGenes = value;
  }
  // The api's rules for the gene caps (isGenesPerCell, isDetectedValuesPerGene): 0, no cap, or a
  // whole number up to the cap's bound.
  for (const [key, label, max] of [
    ['variableGenesPerCell', 'Variable genes per reference cell', 10_000],
    ['detectedValuesPerGene', 'Detected values per variable gene', 1_000_000],
  ]) {
    const text = (values[key] ?? '').trim();
    if (text === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > max) {
      errors.push({
        field: `fed-${key}`,
        message: `${label}: 0 (no cap) or a whole number from 1 to ${max}, got "${text}".`,
      });
    } else input[key] = value;
  }
  const dropout = (values.inputDropout ?? '').trim();
  if (dropout !== '') {
    const value = Number(dropout);
    // The api's rule (isInputDropout): 0, none, up to 0.9.
    if (!(value >= 0 && value <= 0.9)) {
      errors.push({
        field: 'fed-inputDropout',
        message: `Gene dropout: a number from 0 (none) to 0.9, got "${dropout}".`,
      });
    } else input.inputDropout = value;
  }
  const seed = (values.seed ?? '').trim();
  if (seed !== '') input.seed = wholeNumber(seed, 'fed-seed', 'Seed', [0, Number.MAX_SAFE_INTEGER], errors);
  const rounds = input.rounds ?? presets.find((p) => p.name === (input.preset ?? 'published'))?.rounds;
  const every = (values.checkpointEvery ?? '').trim();
  if (every !== '') {
    input.checkpointEvery = wholeNumber(
      every,
      'fed-checkpointEvery',
      'Checkpoint every',
      [1, rounds ?? 100_000],
      errors,
    );
  }
  if (values.weighting) input.weighting = values.weighting;

  const institutions = values.institutions ?? [];
  if (institutions.length === 0) {
    errors.push({ field: 'fed-institutions', message: 'Institutions: choose at least one.' });
  }
  input.institutions = institutions;
  const secure = Boolean(values.secureAggregation);
  input.secureAggregation = secure;
  const threshold = (values.threshold ?? '').trim();
  if (threshold !== '') {
    const k = institutions.length;
    const min = secure ? Math.max(2, Math.floor(k / 2) + 1) : 1;
    if (secure && k < 2) {
      errors.push({
        field: 'fed-threshold',
        message: 'Threshold: leave it empty; one institution has no secure aggregation.',
      });
    } else
      input.threshold = wholeNumber(threshold, 'fed-threshold', 'Threshold', [min, Math.max(min, k)], errors);
  }
  // `datasets` lists only institutions whose choice is not all their datasets; none is an error.
  const chosen = Object.entries(values.datasets ?? {}).filter(([inst]) => institutions.includes(inst));
  for (const [inst, ids] of chosen) {
    if (ids.length === 0) {
      errors.push({ field: 'fed-institutions', message: `Datasets of ${inst}: choose at least one.` });
    }
  }
  if (chosen.length > 0)
    input.datasets = chosen.map(([institution, datasetIds]) => ({ institution, datasetIds }));
  return { input, errors };
}

/** The annotation form's threshold: empty (none), "auto", or a correlation in [-1, 1]. */
export function rejectThresholdProblem(text) {
  const value = (text ?? '').trim();
  if (value === '' || value === 'auto') return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n < -1 || n > 1) {
    return {
      field: 'job-threshold',
      message: `Reject threshold: empty, "auto", or a number from -1 to 1, got "${value}".`,
    };
  }
  return null;
}

/**
 * The settings file an institution's worker starts with (docs/platform.md, 2.4), from the
 * registration's one-time answer. The Redis address and the key passphrase are the
 * institution's to fill in: the page knows neither.
 */
export function workerEnvFile(registration, apiUrl) {
  const { institution, token, queueUsername, queuePassword } = registration;
  return [
    `INSTITUTION=${institution.name}`,
    `WORKER_REDIS_URL=redis://${queueUsername}:${queuePassword}@<redis-host>:6379`,
    `WORKER_STATE_DIR=/var/lib/scprivacy/${institution.name}`,
    'WORKER_KEY_PASSPHRASE=<a long secret of your own>',
    `API_URL=${apiUrl}`,
    `API_TOKEN=${token}`,
    '',
  ].join('\n');
}

/** Days from `now` until an ISO date (negative once past), rounded down. */
export function daysUntil(iso, now = Date.now()) {
  if (!iso) return null;
  return Math.floor((Date.parse(iso) - now) / 86_400_000);
}

/** "expires in 364 days" / "expired 3 days ago" / "no certificate". */
export function formatExpiry(iso, now = Date.now()) {
  const days = daysUntil(iso, now);
  if (days === null) return 'no certificate';
  if (days < 0) return `expired ${-days} day${days === -1 ? '' : 's'} ago`;
  return `expires in ${days} day${days === 1 ? '' : 's'}`;
}

/** Seconds a job took (finishedAt − createdAt), or null while it runs. */
export function jobSeconds(job) {
  if (!job.finishedAt || !job.createdAt) return null;
  const ms = Date.parse(job.finishedAt) - Date.parse(job.createdAt);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/** "ensemble of 3 models" for an ensemble's version; null for a single model. */
export function ensembleNote(version) {
  return version.models > 1 ? `ensemble of ${version.models} models` : null;
}

/**
 * What rejectThreshold "auto" chose for a completed job, from its summary: a heading (a separate
 * group of low-confidence cells, likely types no reference holds; or outliers per predicted type)
 * and each predicted type's threshold, "type r". Null for a job without automatic rejection.
 */
export function autoRejectionNote(summary) {
  if (!summary?.autoThresholds) return null;
  const thresholds = Object.entries(summary.autoThresholds)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, r]) => `${type} ${r.toFixed(3)}`);
  const group = summary.autoNovelGroup;
  const heading = group
    ? `${group.cells} cells form a separate low-confidence group (mean correlation ` +
      `${group.meanCorrelation[0].toFixed(2)} against ${group.meanCorrelation[1].toFixed(2)}): ` +
      'likely cell types no reference holds'
    : thresholds.length > 0
      ? 'outliers per predicted type'
      : 'too few cells, or no spread, to judge outliers: none rejected';
  return { heading, thresholds };
}

/** Lineage of a model version: "federation X, round n" / "imported" / "from <parent>". */
export function versionOrigin(version, federationNames = new Map()) {
  if (version.source === 'import')
    return version.parentId ? `imported, from ${version.parentId.slice(0, 8)}` : 'imported';
  const name = federationNames.get(version.federationId) ?? version.federationId?.slice(0, 8) ?? '?';
  return `${name}, round ${version.round}`;
}
