import { describe, expect, it } from 'vitest';
// @ts-expect-error plain browser ES module without types (served to the page as is)
import * as sut from '../public/api.js';

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that records its calls and answers from a list. */
function fakeFetch(...answers: (Response | Error)[]) {
  const calls: Call[] = [];
  const fetchImpl = async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const answer = answers.shift();
    if (!answer) throw new Error('unexpected call');
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { calls, fetchImpl };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

async function rejection(promise: Promise<unknown>): Promise<{ kind: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    return e as { kind: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('api.js', () => {
  describe('graphql', () => {
    it('should post the operation with the bearer token and return data', async () => {
      const { calls, fetchImpl } = fakeFetch(json({ data: { me: { kind: 'admin' } } }));
      const data = await sut.graphql(sut.ME, { a: 1 }, { token: 't0k', baseUrl: 'http://x', fetchImpl });
      expect(data).toEqual({ me: { kind: 'admin' } });
      expect(calls[0].url).toBe('http://x/graphql');
      expect(calls[0].init.method).toBe('POST');
      expect((calls[0].init.headers as Record<string, string>).authorization).toBe('Bearer t0k');
      expect(JSON.parse(calls[0].init.body as string)).toEqual({ query: sut.ME, variables: { a: 1 } });
    });

    it.each([
      ['UNAUTHENTICATED', 'unauthorized'],
      ['FORBIDDEN', 'forbidden'],
      ['NOT_FOUND', 'not-found'],
      ['CONFLICT', 'conflict'],
      ['SOMETHING_ELSE', 'error'],
    ])('should turn the GraphQL code %s into an ApiError of kind %s', async (code, kind) => {
      const { fetchImpl } = fakeFetch(
        json({ data: null, errors: [{ message: 'nope', extensions: { code } }] }),
      );
      const error = await rejection(sut.graphql(sut.ME, {}, { fetchImpl }));
      expect(error).toBeInstanceOf(sut.ApiError);
      expect(error).toMatchObject({ kind, message: 'nope' });
    });

    it('should treat an HTTP 401 without a GraphQL body as a refused token', async () => {
      const { fetchImpl } = fakeFetch(new Response('Unauthorized', { status: 401 }));
      expect(await rejection(sut.graphql(sut.ME, {}, { fetchImpl }))).toMatchObject({ kind: 'unauthorized' });
    });

    it('should say when the server cannot be reached', async () => {
      const { fetchImpl } = fakeFetch(new TypeError('fetch failed'));
      expect(await rejection(sut.graphql(sut.ME, {}, { fetchImpl }))).toMatchObject({ kind: 'network' });
    });
  });

  describe('loadFederation', () => {
    it('should page through rounds until a short page', async () => {
      const page = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ number: from + i }));
      const { calls, fetchImpl } = fakeFetch(
        json({
          data: { federation: { id: 'f' }, rounds: page(6, sut.ROUNDS_PAGE), modelVersions: [{ id: 'm' }] },
        }),
        json({ data: { rounds: page(6 + sut.ROUNDS_PAGE, 3) } }),
      );
      const result = await sut.loadFederation('f', { offset: 5, versions: 7 }, { fetchImpl });
      expect(result.rounds).toHaveLength(sut.ROUNDS_PAGE + 3);
      expect(result.modelVersions).toEqual([{ id: 'm' }]);
      const variables = calls.map((c) => JSON.parse(c.init.body as string).variables);
      expect(variables).toEqual([
        { id: 'f', offset: 5, versions: 7 },
        { id: 'f', offset: 5 + sut.ROUNDS_PAGE },
      ]);
    });
  });

  describe('downloadBundle', () => {
    it('should fetch the bundle with the bearer header', async () => {
      const { calls, fetchImpl } = fakeFetch(
        new Response(new Uint8Array([1, 2, 3]), {
          headers: { 'content-disposition': 'attachment; filename="m.tar"' },
        }),
      );
      const { blob, disposition } = await sut.downloadBundle('a/b', { token: 't', fetchImpl });
      expect(calls[0].url).toBe('/api/v1/model-versions/a%2Fb/bundle');
      expect((calls[0].init.headers as Record<string, string>).authorization).toBe('Bearer t');
      expect(new Uint8Array(await blob.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
      expect(disposition).toBe('attachment; filename="m.tar"');
    });

    it('should report a refused token and other failures with the server’s message', async () => {
      const { fetchImpl } = fakeFetch(
        json({ statusCode: 401, message: 'This access token is unknown or revoked.' }, 401),
        json({ statusCode: 404, message: 'Model version x not found.' }, 404),
        json({ statusCode: 409, message: 'Model version x (round 2) cannot be exported: …' }, 409),
      );
      expect(await rejection(sut.downloadBundle('x', { fetchImpl }))).toMatchObject({
        kind: 'unauthorized',
        message: 'This access token is unknown or revoked.',
      });
      expect(await rejection(sut.downloadBundle('x', { fetchImpl }))).toMatchObject({
        kind: 'not-found',
        message: 'Model version x not found.',
      });
      expect(await rejection(sut.downloadBundle('x', { fetchImpl }))).toMatchObject({
        kind: 'conflict',
        status: 409,
        message: expect.stringContaining('cannot be exported'),
      });
    });
  });
});
