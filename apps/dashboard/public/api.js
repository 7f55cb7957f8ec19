// The dashboard's calls to the api: GraphQL documents (fields as in apps/api/src/**/models) and
// a small client that sends the user's token and turns failures into ApiError with a `kind` the
// page can act on. No DOM here, so the tests run these same documents against a real api.

const FEDERATION_FIELDS = `
  id name status options participants currentRound error createdAt startedAt finishedAt`;

const ROUND_FIELDS = `
  number status participants survivors dropouts losses meanLoss timings startedAt finishedAt error`;

/** Rounds per request: the api's page limit (MAX_PAGE). */
export const ROUNDS_PAGE = 1000;

export const ME = `query DashboardMe {
  me { kind consortiumId institutionId institutionName }
  consortia { id name membersSeeInstitutionRounds }
}`;

export const FEDERATIONS = `query DashboardFederations {
  federations {${FEDERATION_FIELDS} }
}`;

/** One federation, its rounds from `offset` on, and its newest model versions. */
export const FEDERATION = `query DashboardFederation($id: ID!, $offset: Int!, $versions: Int!) {
  federation(id: $id) {${FEDERATION_FIELDS} }
  rounds(federationId: $id, limit: ${ROUNDS_PAGE}, offset: $offset) {${ROUND_FIELDS} }
  modelVersions(federationId: $id, limit: $versions) {
    id round sha256 backend sizeBytes source createdAt kind pinned exportable
  }
}`;

/** Further pages of rounds, when a federation has more than ROUNDS_PAGE of them. */
export const ROUNDS = `query DashboardRounds($id: ID!, $offset: Int!) {
  rounds(federationId: $id, limit: ${ROUNDS_PAGE}, offset: $offset) {${ROUND_FIELDS} }
}`;

export const CANCEL = `mutation DashboardCancel($id: ID!) {
  cancelFederation(id: $id) { id status }
}`;

export const RESUME = `mutation DashboardResume($id: ID!) {
  resumeFederation(id: $id) { id status }
}`;

/** Pins (or unpins) a model version, so that retention never deletes it (consortium admins). */
export const PIN = `mutation DashboardPin($id: ID!, $pinned: Boolean!) {
  pinModelVersion(id: $id, pinned: $pinned) { id pinned kind }
}`;

// ---- the console's other pages ----------------------------------------------------------------

export const INSTITUTIONS = `query ConsoleInstitutions($consortiumId: ID!) {
  institutions(consortiumId: $consortiumId) {
    id name displayName status certificateSerial certifiedAt certificateExpiresAt queueUser createdAt
    lastSeenAt lastBackend workerOnline lastRound { federationId federationName round finishedAt }
  }
}`;

export const REGISTER_INSTITUTION = `mutation ConsoleRegister($consortiumId: ID!, $name: String!, $displayName: String!) {
  registerInstitution(consortiumId: $consortiumId, name: $name, displayName: $displayName) {
    institution { id name status } token queueUsername queuePassword
  }
}`;

export const CERTIFY_INSTITUTION = `mutation ConsoleCertify($id: ID!, $csrPem: String!) {
  certifyInstitution(institutionId: $id, csrPem: $csrPem) { id name status certificateExpiresAt }
}`;

export const REVOKE_INSTITUTION = `mutation ConsoleRevoke($id: ID!) {
  revokeInstitution(institutionId: $id) { id name status }
}`;

export const CONSORTIUM_SETTINGS = `mutation ConsoleSettings($consortiumId: ID!, $value: Boolean!) {
  updateConsortiumSettings(consortiumId: $consortiumId, membersSeeInstitutionRounds: $value) {
    id membersSeeInstitutionRounds
  }
}`;

export const DATASETS = `query ConsoleDatasets {
  datasets { id institutionId name fileName location sha256 sizeBytes cells genes typeCounts createdAt }
}`;

/** The start form's choices: institutions (with their datasets) and the training presets. */
export const FEDERATION_FORM = `query ConsoleFederationForm($consortiumId: ID!) {
  institutions(consortiumId: $consortiumId) { id name status certifiedAt }
  datasets { id institutionId name cells }
  trainingPresets { name description rounds localSteps learningRate ensembleSize variableGenes variableGenesPerCell detectedValuesPerGene inputDropout inputDropoutMinDetection availableOnPlatform }
}`;

export const START_FEDERATION = `mutation ConsoleStart($input: StartFederationInput!) {
  startFederation(input: $input) { id name status }
}`;

export const MODEL_VERSIONS = `query ConsoleModels {
  modelVersions(limit: 1000) {
    id federationId round parentId sha256 backend sizeBytes models source kind pinned exportable createdAt
  }
  federations { id name status }
}`;

export const ANNOTATION_JOBS = `query ConsoleAnnotations {
  annotationJobs(limit: 200) {
    id institutionId modelVersionId status inputFileName summary rejectThreshold autoReject error
    createdAt finishedAt
  }
}`;

/** GraphQL error codes of the api (apps/api/src/graphql/graphql-options.ts) → ApiError kinds. */
const KINDS = {
  UNAUTHENTICATED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not-found',
  CONFLICT: 'conflict',
  BAD_USER_INPUT: 'bad-input',
  SERVICE_UNAVAILABLE: 'unavailable',
};

/** kind: 'unauthorized' | 'forbidden' | 'not-found' | 'conflict' | 'bad-input' | 'unavailable' | 'network' | 'error' */
export class ApiError extends Error {
  constructor(kind, message, status) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
  }
}

function headers(token, extra = {}) {
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

async function send(url, init, fetchImpl) {
  try {
    return await fetchImpl(url, init);
  } catch {
    throw new ApiError('network', 'The server could not be reached; check your connection and reload.');
  }
}

async function errorOf(res) {
  let message = '';
  try {
    const body = await res.json();
    message = body?.errors?.[0]?.message ?? body?.message ?? '';
  } catch {
    // not JSON
  }
  if (res.status === 401) {
    return new ApiError('unauthorized', message || 'The token was refused.', 401);
  }
  if (res.status === 403) return new ApiError('forbidden', message || 'Not allowed.', 403);
  if (res.status === 404) return new ApiError('not-found', message || 'Not found.', 404);
  if (res.status === 409) return new ApiError('conflict', message || 'Not possible now.', 409);
  return new ApiError('error', message || `The server answered ${res.status} ${res.statusText}.`, res.status);
}

/**
 * Runs one GraphQL operation and returns its `data`; throws ApiError on any error (GraphQL
 * answers errors with HTTP 200, so `errors[0].extensions.code` decides the kind).
 */
export async function graphql(query, variables, { token, baseUrl = '', fetchImpl = fetch } = {}) {
  const res = await send(
    `${baseUrl}/graphql`,
    {
      method: 'POST',
      headers: headers(token, { 'content-type': 'application/json', accept: 'application/json' }),
      body: JSON.stringify({ query, variables }),
    },
    fetchImpl,
  );
  let body;
  try {
    body = await res.json();
  } catch {
    throw await errorOf(res);
  }
  const error = body?.errors?.[0];
  if (error) {
    const kind = KINDS[error.extensions?.code] ?? (res.status === 401 ? 'unauthorized' : 'error');
    throw new ApiError(kind, error.message, error.extensions?.status ?? res.status);
  }
  if (!res.ok || !body?.data) throw await errorOf(res);
  return body.data;
}

/** A federation with its rounds (all pages from `offset` on) and newest `versions` model versions. */
export async function loadFederation(id, { offset = 0, versions = 20 } = {}, options = {}) {
  const data = await graphql(FEDERATION, { id, offset, versions }, options);
  const rounds = [...data.rounds];
  let page = data.rounds;
  while (page.length === ROUNDS_PAGE) {
    page = (await graphql(ROUNDS, { id, offset: offset + rounds.length }, options)).rounds;
    rounds.push(...page);
  }
  return { federation: data.federation, rounds, modelVersions: data.modelVersions };
}

/**
 * A model version's bundle (.tar). It needs the bearer header, so a plain link cannot fetch it:
 * the page downloads it here and saves the Blob. Returns { blob, disposition }.
 */
export async function downloadBundle(id, { token, baseUrl = '', fetchImpl = fetch } = {}) {
  const res = await send(
    `${baseUrl}/api/v1/model-versions/${encodeURIComponent(id)}/bundle`,
    { headers: headers(token) },
    fetchImpl,
  );
  if (!res.ok) throw await errorOf(res);
  return { blob: await res.blob(), disposition: res.headers.get('content-disposition') };
}

/**
 * POSTs a multipart form (a file upload) to a REST route and returns the JSON answer; throws
 * ApiError with the api's message (which names the file, line or field at fault).
 */
export async function postForm(path, form, { token, baseUrl = '', fetchImpl = fetch } = {}) {
  const res = await send(
    `${baseUrl}${path}`,
    { method: 'POST', headers: headers(token, { accept: 'application/json' }), body: form },
    fetchImpl,
  );
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

/** GETs a file from a REST route with the bearer header. Returns { blob, disposition }. */
export async function downloadFile(path, { token, baseUrl = '', fetchImpl = fetch } = {}) {
  const res = await send(`${baseUrl}${path}`, { headers: headers(token) }, fetchImpl);
  if (!res.ok) throw await errorOf(res);
  return { blob: await res.blob(), disposition: res.headers.get('content-disposition') };
}
