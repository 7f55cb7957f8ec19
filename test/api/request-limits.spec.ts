import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsortium,
  formWith,
  messageOf,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';

const UPLOAD_LIMIT = 100_000;
const REFERENCE = 'cell_id,CD3E,cell_label\nc1,1,T cell\nc2,0,B cell\n';

/** A raw HTTP exchange, so the test controls every byte the client sends (and when it stops). */
function rawPost(
  url: string,
  path: string,
  headers: Record<string, string>,
  write: (
    send: (chunk: string | Buffer) => boolean,
    end: () => void,
    abort: () => void,
    /** Calls back once the socket takes more (after `send` returned false). */
    onDrain: (next: () => void) => void,
  ) => void,
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(`${url}${path}`, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    // A server that stops reading may close the socket while the client still writes (EPIPE);
    // its answer can still arrive, so an error only counts once the request is over without one.
    let failure = '';
    req.on('error', (e) => (failure ||= e.message));
    req.on('close', () => setImmediate(() => resolve({ error: failure || 'closed' })));
    write(
      (chunk) => req.write(chunk),
      () => req.end(),
      () => req.destroy(),
      (next) => req.once('drain', next),
    );
  });
}

describe('api: request limits and query parameters', () => {
  let api: ApiHarness;
  let admin: string;
  let member: RegisteredInstitution;
  let uploadDir: string;

  beforeAll(async () => {
    // Every temporary folder of this process (uploads included) goes here, to be inspected.
    uploadDir = await mkdtemp(join(tmpdir(), 'api-limits-'));
    process.env.TMPDIR = uploadDir;
    api = await startApi('limits', { UPLOAD_MAX_BYTES: String(UPLOAD_LIMIT) });
    const x = await createConsortium(api, 'Limits X');
    admin = x.adminToken;
    member = await registerInstitution(api, x.id, x.adminToken, 'lim');
  });

  afterAll(async () => {
    await api?.close();
    if (uploadDir) await rm(uploadDir, { recursive: true, force: true });
  });

  const uploadsLeft = async () => (await readdir(uploadDir)).filter((n) => n.startsWith('scprivacy-upload-'));

  describe('REST query parameters', () => {
    it.each([
      ['limit=abc', /^Invalid query parameters: limit: expected a whole number between 1 and 1000$/],
      ['limit=-1', /limit: expected a whole number between 1 and 1000/],
      ['limit=0', /limit: expected a whole number between 1 and 1000/],
      ['limit=1e9', /limit: expected a whole number between 1 and 1000/],
      ['limit=1000000000', /limit: expected a whole number between 1 and 1000/],
      ['limit=2.5', /limit: expected a whole number between 1 and 1000/],
      ['limit=1&limit=2', /limit: expected one value/],
      ['offset=abc', /^Invalid query parameters: offset: expected a whole number between 0 and 1000000$/],
      ['offset=1e30', /offset: expected a whole number between 0 and 1000000/],
      ['offset=-5', /offset: expected a whole number between 0 and 1000000/],
      ['offset=99999999999999999999999', /offset: expected a whole number between 0 and 1000000/],
      ['limit=x&offset=y', /limit: .*; offset: /],
    ])('GET /annotations?%s should answer 400 naming the parameter', async (query, expected) => {
      const res = await api.rest(`/api/v1/annotations?${query}`, { token: member.token });
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toMatch(expected);
    });

    it('GET /annotations should still accept good paging', async () => {
      for (const query of ['', '?limit=5', '?limit=1000&offset=0', '?offset=1000000', '?limit=']) {
        const res = await api.rest(`/api/v1/annotations${query}`, { token: member.token });
        expect({ query, status: res.status }).toEqual({ query, status: 200 });
      }
    });

    it.each([
      ['institution=a&institution=b', /^Invalid query parameters: institution: expected one value/],
      [
        `institution=${'n'.repeat(300)}`,
        /institution: expected an institution name of at most 200 characters/,
      ],
    ])('GET /datasets?%s should answer 400 naming the parameter', async (query, expected) => {
      const res = await api.rest(`/api/v1/datasets?${query}`, { token: admin });
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toMatch(expected);
    });

    it('GET /datasets?institution=<name> should still filter', async () => {
      const res = await api.rest(`/api/v1/datasets?institution=${member.name}`, { token: admin });
      expect(res.status).toBe(200);
    });
  });

  describe('GraphQL paging', () => {
    it.each([
      ['limit: 0', /limit: expected a whole number between 1 and 1000/],
      ['limit: 5000', /limit: expected a whole number between 1 and 1000/],
      ['offset: -1', /offset: expected a whole number between 0 and 1000000/],
      ['offset: 2000000000', /offset: expected a whole number between 0 and 1000000/],
    ])('annotationJobs(%s) should be a BAD_USER_INPUT naming the argument', async (args, expected) => {
      const result = await api.gql(`{ annotationJobs(${args}) { id } }`, {}, member.token);
      expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0].message).toMatch(expected);
    });

    it('should refuse an offset past 32 bits before our code runs', async () => {
      const result = await api.gql('{ annotationJobs(offset: 1e30) { id } }', {}, member.token);
      expect(result.errors?.length).toBeGreaterThan(0);
      expect(result.errors?.[0].extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    });
  });

  describe('request bodies', () => {
    it('should answer 413 to a JSON body over 100 KiB on a REST route', async () => {
      const res = await api.rest(`/api/v1/institutions/${member.name}/datasets/site`, {
        method: 'POST',
        token: admin,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'x', pad: 'x'.repeat(200_000) }),
      });
      expect(res.status).toBe(413);
    });

    it('should answer 413 to a GraphQL request over 100 KiB', async () => {
      const res = await fetch(`${api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ query: `{ me { kind } }${' '.repeat(200_000)}` }),
      });
      expect(res.status).toBe(413);
    });

    it('should answer 400 to a multipart upload with too many parts', async () => {
      const form = formWith('ref.csv', REFERENCE);
      for (let i = 0; i < 200; i++) form.append(`f${i}`, 'x');
      const res = await api.rest(`/api/v1/institutions/${member.name}/datasets`, {
        method: 'POST',
        token: member.token,
        body: form,
      });
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toMatch(/more than \d+ form fields/);
      expect(await uploadsLeft()).toEqual([]);
    });

    it('should answer 400 to a multipart part with a huge header', async () => {
      const boundary = 'xBOUNDARYx';
      const body =
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n` +
        `X-Pad: ${'p'.repeat(64 * 1024)}\r\n\r\n${REFERENCE}\r\n--${boundary}--\r\n`;
      const res = await api.rest(`/api/v1/institutions/${member.name}/datasets`, {
        method: 'POST',
        token: member.token,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        body,
      });
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toMatch(/Malformed part header/);
    });

    it('should answer 413 to a never-ending multipart body and keep nothing', async () => {
      const boundary = 'yBOUNDARYy';
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const result = await rawPost(
        api.url,
        `/api/v1/institutions/${member.name}/datasets`,
        {
          authorization: `Bearer ${member.token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'transfer-encoding': 'chunked',
        },
        (send, _end, _abort, onDrain) => {
          // An endless preamble: no part ever starts, so no file limit is ever reached.
          const pump = () => {
            while (sent < 50 * 1024 * 1024) {
              sent += chunk.length;
              if (!send(chunk)) {
                onDrain(pump);
                return;
              }
            }
          };
          pump();
        },
      );
      // The api stops reading long before the client's 50 MiB: it answers 413 and closes.
      if ('status' in result) {
        expect(result.status).toBe(413);
        expect(result.body).toMatch(/larger than the upload limit/);
      } else {
        expect(result.error).toMatch(/EPIPE|ECONNRESET|socket hang up/);
      }
      expect(sent).toBeLessThan(50 * 1024 * 1024);
      expect((await api.rest('/health/live')).status).toBe(200);
      expect(await uploadsLeft()).toEqual([]);
    });

    it('should answer 413 to a file over the limit sent without end, and keep nothing', async () => {
      const boundary = 'zBOUNDARYz';
      const head =
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n` +
        'Content-Type: text/csv\r\n\r\n';
      const chunk = Buffer.alloc(64 * 1024, 0x31);
      let sent = 0;
      const result = await rawPost(
        api.url,
        `/api/v1/institutions/${member.name}/datasets`,
        {
          authorization: `Bearer ${member.token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'transfer-encoding': 'chunked',
        },
        (send, _end, _abort, onDrain) => {
          send(head);
          // Honour backpressure as a real client does: a client that writes on regardless fills
          // its own memory, whatever the server does, and a loaded machine let it reach 50 MB.
          const pump = () => {
            while (sent < 50 * 1024 * 1024) {
              sent += chunk.length;
              if (!send(chunk)) {
                onDrain(pump);
                return;
              }
            }
          };
          pump();
        },
      );
      if ('status' in result) expect(result.status).toBe(413);
      else expect(result.error).toMatch(/EPIPE|ECONNRESET|socket hang up/);
      expect(sent).toBeLessThan(50 * 1024 * 1024);
      expect(await uploadsLeft()).toEqual([]);
    });

    it('should leave no temporary file when the client aborts an upload midway', async () => {
      const boundary = 'aBOUNDARYa';
      const head =
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ref.csv"\r\n` +
        'Content-Type: text/csv\r\n\r\n';
      const result = await rawPost(
        api.url,
        `/api/v1/institutions/${member.name}/datasets`,
        {
          authorization: `Bearer ${member.token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'transfer-encoding': 'chunked',
        },
        (send, _end, abort) => {
          send(head);
          send(REFERENCE.repeat(100));
          // Give the api time to open its temporary file, then vanish.
          const waitForFile = async () => {
            for (let i = 0; i < 100 && (await uploadsLeft()).length === 0; i++)
              await new Promise((r) => setTimeout(r, 10));
            abort();
          };
          void waitForFile();
        },
      );
      expect('error' in result).toBe(true);
      for (let i = 0; i < 100 && (await uploadsLeft()).length > 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await uploadsLeft()).toEqual([]);
      expect((await api.rest('/health/live')).status).toBe(200);
    });
  });
});
