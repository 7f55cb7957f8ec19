import { fetchFailureDetail, HTTPS_TRUST_ADVICE } from '@fl/storage';

/**
 * Asks the API for this institution's certificate and the consortium root, so a newly certified
 * worker needs no file copied by hand. Returns undefined until it is certified.
 */
export async function fetchCertificate(
  apiUrl: string,
  token: string,
): Promise<{ certificatePem: string; caCertificatePem: string } | undefined> {
  const gql = async <T>(query: string, variables: object = {}): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(new URL('/graphql', apiUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch (e) {
      // "fetch failed" alone does not say that the API's certificate is not trusted, say.
      throw new Error(fetchFailureDetail(e, HTTPS_TRUST_ADVICE), { cause: e });
    }
    const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: { message: string }[] };
    if (!res.ok || body.errors?.length || !body.data) {
      const why = body.errors?.map((e) => e.message).join('; ') ?? `HTTP ${res.status}`;
      throw new Error(`API ${apiUrl}: could not fetch the certificate (${why})`);
    }
    return body.data;
  };
  const { me } = await gql<{ me: { institutionId: string | null; consortiumId: string | null } }>(
    '{ me { institutionId consortiumId } }',
  );
  if (!me.institutionId || !me.consortiumId) throw new Error('API_TOKEN is not an institution member token');
  const data = await gql<{
    institution: { certificatePem: string | null };
    consortium: { caCertificatePem: string };
  }>(
    'query($i: ID!, $c: ID!) { institution(id: $i) { certificatePem } consortium(id: $c) { caCertificatePem } }',
    { i: me.institutionId, c: me.consortiumId },
  );
  const cert = data.institution.certificatePem;
  return cert ? { certificatePem: cert, caCertificatePem: data.consortium.caCertificatePem } : undefined;
}
