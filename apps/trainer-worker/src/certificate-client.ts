/**
 * Asks the API for this institution's certificate and the consortium root (GraphQL `me`), so a
 * newly certified worker needs no file copied by hand. Returns undefined until it is certified.
 */
export async function fetchCertificate(
  apiUrl: string,
  token: string,
): Promise<{ certificatePem: string; caCertificatePem: string } | undefined> {
  const res = await fetch(new URL('/graphql', apiUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: '{ me { institution { certificatePem } consortium { caCertificatePem } } }',
    }),
  });
  if (!res.ok) throw new Error(`API ${apiUrl}: HTTP ${res.status} while fetching the certificate`);
  const body = (await res.json()) as {
    data?: {
      me?: { institution?: { certificatePem?: string | null }; consortium?: { caCertificatePem?: string } };
    };
  };
  const cert = body.data?.me?.institution?.certificatePem;
  const ca = body.data?.me?.consortium?.caCertificatePem;
  return cert && ca ? { certificatePem: cert, caCertificatePem: ca } : undefined;
}
