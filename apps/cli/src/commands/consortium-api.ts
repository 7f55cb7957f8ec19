/**
 * The little GraphQL client of `scprivacy consortium`: one POST per call to <api>/graphql with
 * the administrator's bearer token. Every failure becomes a ConsortiumError whose message says
 * what was being done, at which address, and what the API answered, in plain words.
 */

/** A failure of a `consortium` command that is not an input mistake; main.ts prints it as is. */
export class ConsortiumError extends Error {
  constructor(
    message: string,
    /** 3: the API could not be reached or refused the request; 1: a step failed half-way. */
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ConsortiumError';
  }
}

/** Exit code when the API cannot be reached or refuses (README, "Exit codes"). */
export const API_EXIT_CODE = 3;

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** A GraphQL error the API answered with; `code` is its extensions.code (CONFLICT, ...). */
export class ApiRefusal extends ConsortiumError {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message, API_EXIT_CODE);
  }
}

const TIMEOUT_MS = 30_000;

export class ConsortiumApi {
  private readonly endpoint: string;

  constructor(
    /** The API's base URL, as given (http(s)://host[:port]). */
    readonly baseUrl: string,
    private readonly token: string,
  ) {
    // Resolved as the workers resolve API_URL (apps/trainer-worker certificate-client.ts), so the
    // address that works here works for them.
    this.endpoint = new URL('/graphql', baseUrl).toString();
  }

  /** Runs one operation; `doing` names it in errors ("registering hospital-a"). */
  async call<T>(doing: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      throw new ConsortiumError(
        `${doing}: cannot reach the API at ${this.baseUrl} (${networkReason(e)}); check --api ` +
          '(or SCPRIVACY_API_URL) and that the API is running',
        API_EXIT_CODE,
      );
    }
    const text = await res.text().catch(() => '');
    let answer: GraphQLAnswer<T> | undefined;
    try {
      answer = JSON.parse(text) as GraphQLAnswer<T>;
    } catch {
      answer = undefined;
    }
    if (!answer || typeof answer !== 'object' || (!answer.data && !answer.errors?.length)) {
      throw new ConsortiumError(
        `${doing}: ${this.endpoint} answered HTTP ${res.status} ${res.statusText}, not GraphQL; is --api the ` +
          "scPrivacy API's base address (the one serving /graphql)?",
        API_EXIT_CODE,
      );
    }
    const error = answer.errors?.[0];
    if (error) {
      const code = error.extensions?.code;
      const message = answer.errors!.map((e) => e.message).join('; ');
      if (code === 'UNAUTHENTICATED' || res.status === 401) {
        throw new ApiRefusal(
          `${doing}: the API at ${this.baseUrl} refused the administrator token (${message}); check --token-file ` +
            'or SCPRIVACY_ADMIN_TOKEN',
          code,
        );
      }
      throw new ApiRefusal(`${doing}: the API refused: ${message}`, code);
    }
    return answer.data as T;
  }
}

/** "ECONNREFUSED", "ENOTFOUND", "timed out after 30 s", or the message: what went wrong on the way. */
function networkReason(e: unknown): string {
  const error = e as Error & { cause?: { code?: string; message?: string } };
  if (error.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  const cause = error.cause;
  if (cause?.code) return cause.message ? `${cause.code}: ${cause.message}` : cause.code;
  return cause?.message ?? error.message;
}

/** Who the token belongs to (the `me` query). */
export interface TokenOwner {
  kind: string;
  consortiumId: string | null;
}

/**
 * The consortium the administrator's token manages. Registering and certifying take the
 * consortium's admin token: a member's or the platform operator's cannot, so they are refused
 * here, before anything is changed, with what to use instead.
 */
export async function adminConsortium(api: ConsortiumApi, requested: string | undefined): Promise<string> {
  const { me } = await api.call<{ me: TokenOwner }>(
    'checking the administrator token',
    '{ me { kind consortiumId } }',
  );
  if (me.kind !== 'admin' || !me.consortiumId) {
    throw new ConsortiumError(
      `the token is a${me.kind === 'operator' ? 'n' : ''} ${me.kind} token, not a consortium administrator's ` +
        '(createConsortium answers with one): only the consortium administrator registers and certifies sites',
      API_EXIT_CODE,
    );
  }
  if (requested !== undefined && requested !== me.consortiumId) {
    throw new ConsortiumError(
      `--consortium ${requested}: the administrator token manages consortium ${me.consortiumId}, not this one`,
      API_EXIT_CODE,
    );
  }
  return me.consortiumId;
}

export interface InstitutionRow {
  id: string;
  name: string;
  status: string;
}

/** The consortium's institution called `name`, or undefined. */
export async function findInstitution(
  api: ConsortiumApi,
  consortiumId: string,
  name: string,
): Promise<InstitutionRow | undefined> {
  const { institutions } = await api.call<{ institutions: InstitutionRow[] }>(
    `looking up institution ${name}`,
    'query($c: ID!) { institutions(consortiumId: $c) { id name status } }',
    { c: consortiumId },
  );
  return institutions.find((i) => i.name === name);
}

export interface Registration {
  institution: InstitutionRow & { consortiumId: string };
  token: string;
  queueUsername: string;
  queuePassword: string;
}

export async function registerInstitution(
  api: ConsortiumApi,
  consortiumId: string,
  name: string,
  displayName: string,
): Promise<Registration> {
  const { registerInstitution } = await api.call<{ registerInstitution: Registration }>(
    `registering ${name}`,
    `mutation($c: ID!, $n: String!, $d: String!) {
      registerInstitution(consortiumId: $c, name: $n, displayName: $d) {
        institution { id name status consortiumId } token queueUsername queuePassword
      }
    }`,
    { c: consortiumId, n: name, d: displayName },
  );
  return registerInstitution;
}

export interface Certification {
  status: string;
  certificateSerial: string | null;
  certifiedAt: string | null;
}

export async function certifyInstitution(
  api: ConsortiumApi,
  institution: { id: string; name: string },
  csrPem: string,
): Promise<Certification> {
  const { certifyInstitution } = await api.call<{ certifyInstitution: Certification }>(
    `certifying ${institution.name}`,
    `mutation($i: ID!, $csr: String!) {
      certifyInstitution(institutionId: $i, csrPem: $csr) { status certificateSerial certifiedAt }
    }`,
    { i: institution.id, csr: csrPem },
  );
  return certifyInstitution;
}
