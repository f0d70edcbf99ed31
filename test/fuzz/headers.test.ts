/**
 * Fuzzes HTTP headers and query strings: If-Match (PATCH, DELETE), If-None-Match, Last-Event-ID
 * (SSE), Authorization, X-Request-Id, header blocks near and over Node's 16 KiB limit, bytes HTTP
 * forbids in a header, and ?limit ?cursor ?prefix ?filter ?fields ?since with random, repeated
 * and badly percent-encoded values, on odd paths.
 *
 * Invariants: every answer is 2xx/304 or problem+json with a contract code and its status (never
 * 500); the fixed points hold (the current version in If-Match passes, another is 412, a matching
 * If-None-Match is 304, only the admin token in any Bearer spelling authenticates, a filter error
 * names its position); the victim never changes (every write here is a no-op or refused); the
 * server keeps answering. A header block Node's HTTP parser refuses before the app sees it gets a
 * problem+json 400 or 431 with Connection: close from the adapter's clientError handler.
 * FUZZ_RUNS multiplies the runs.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { asResponse, send } from './http-client.ts';
import type { RawReply } from './http-client.ts';
import { corpus, expectHealthy, expectNoPollution, expectProblem, params, timeout } from './support.ts';

let t: TestServer;
let version = 0;

beforeAll(async () => {
  t = await startTestServer(['--key-rate', '1000000', '--key-burst', '1000000']);
  for (const id of ['victim', 'site-a:1', 'site-a:2', 'site-b:1']) {
    expect((await t.call('POST', '/v1/twins', { body: { id, desired: { temp: 21 }, tags: { site: id.slice(0, 6) } } })).status).toBe(201);
  }
  version = await current();
});
afterAll(async () => { await t?.stop(); });

async function current(): Promise<number> {
  return ((await (await t.call('GET', '/v1/twins/victim')).json()) as { version: number }).version;
}

/** Any header value Node's client will send (it refuses control characters itself). */
const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
  fc.constantFrom('"1"', 'W/"1"', '*', '"1", "2"', '""', '"-1"', '"1.5"', '"1e3"', '"99999999999999999999"', '"0x1"', ' "1" ', 'W/*', '"1"x', '\t"1"'),
  fc.integer().map((n) => `"${n}"`),
).map((s) => s.replace(/[^\x20-\x7e\t]/g, '').trim());

/** Sends and checks the contract shape; returns the reply and the problem code if any. */
async function http(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawReply & { code?: string }> {
  const reply = await send(t.server.httpPort, {
    method, path, headers: { authorization: `Bearer ${ADMIN}`, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: Buffer.from(body) }),
  });
  const context = `${method} ${path} ${JSON.stringify(headers).slice(0, 300)}`;
  expectNoPollution();
  if (reply.status < 400) return reply;
  return { ...reply, code: await expectProblem(asResponse(reply), context) };
}

describe('HTTP headers', () => {
  it('reads any If-Match on a no-op PATCH as the version, a 412 or a 400, never changing the twin', async () => {
    await fc.assert(fc.asyncProperty(headerValue, async (ifMatch) => {
      const reply = await http('PATCH', '/v1/twins/victim', { 'if-match': ifMatch }, '{"desired":{"temp":21}}');
      expect([200, 400, 412], ifMatch).toContain(reply.status);
      if (ifMatch === `"${version}"` || ifMatch === '*') expect(reply.status).toBe(200);
      // Leading zeros aside: "01" passes for version 1 today (see the corpus' known bug).
      if (/^"[1-9]\d{0,14}"$/.test(ifMatch) && ifMatch !== `"${version}"`) expect(reply.code).toBe('version_conflict');
      expect(await current()).toBe(version);
    }), params(0x4e01, 120));
  }, timeout(30_000));

  it('never deletes on an If-Match that is not the version', async () => {
    const spellsVersion = (v: string) => v === '*' || new RegExp(`^"?0*${version}"?$`).test(v);
    await fc.assert(fc.asyncProperty(headerValue.filter((v) => !spellsVersion(v)), async (ifMatch) => {
      const reply = await http('DELETE', '/v1/twins/victim', { 'if-match': ifMatch });
      expect([400, 412], ifMatch).toContain(reply.status);
      expect(await current()).toBe(version);
    }), params(0x4e02, 80));
  }, timeout(30_000));

  it('answers any If-None-Match with 200 or 304, and 304 exactly for the ETag or *', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(headerValue, fc.constant(`"${version}"`), fc.constant(`W/"${version}", "x"`)), async (inm) => {
      const reply = await http('GET', '/v1/twins/victim', { 'if-none-match': inm });
      const hits = inm.split(',').some((tag) => ['*', `"${version}"`, `W/"${version}"`].includes(tag.trim()));
      expect(reply.status, inm).toBe(hits ? 304 : 200);
    }), params(0x4e03, 80));
  }, timeout(30_000));

  it('authenticates only the admin token in any spelling of Bearer, refusing the rest with 401', async () => {
    const auth = fc.oneof(
      headerValue,
      fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Bearer:', 'Token', ''), fc.constantFrom(' ', '  ', '\t'), fc.constantFrom(ADMIN, `${ADMIN}x`, ADMIN.slice(1), `${ADMIN} x`, '', 'dpk_x.y', 'dpd_x.y'), fc.constantFrom('', ' ', '\t'))
        .map(([s, sp, tok, tail]) => `${s}${sp}${tok}${tail}`),
    );
    await fc.assert(fc.asyncProperty(auth, async (value) => {
      const reply = await http('GET', '/v1/twins/victim', { authorization: value });
      const admin = new RegExp(`^bearer[ \\t]+${ADMIN}[ \\t]*$`, 'i').test(value.trim());
      expect(reply.status, value).toBe(admin ? 200 : 401);
      if (!admin) expect(reply.headers['www-authenticate']).toMatch(/^Bearer/);
    }), params(0x4e04, 120));
  }, timeout(30_000));

  it('resumes an event stream from any Last-Event-ID or refuses it with 400', async () => {
    const id = fc.oneof(headerValue, fc.tuple(fc.nat(), fc.stringMatching(/^[0-9a-z]{1,16}$/)).map(([v, inc]) => `${v}.${inc}`), fc.nat().map(String));
    await fc.assert(fc.asyncProperty(id, async (lastEventId) => {
      const res = await fetch(`${t.url}/v1/twins/victim/events`, { headers: { authorization: `Bearer ${ADMIN}`, 'last-event-id': lastEventId } });
      const wellFormed = lastEventId === '' || /^\d{1,15}(\.[0-9a-z]{1,16})?$/.test(lastEventId);
      if (res.status === 200) {
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        await res.body?.cancel();
      } else {
        expect(await expectProblem(res, lastEventId)).toBe('invalid_request');
      }
      expect(res.status, lastEventId).toBe(wellFormed ? 200 : 400);
    }), params(0x4e05, 60));
    // Every stream was cancelled by its client: the server must notice and end them all.
    await eventually(async () => ((await metricValue('doppel_http_event_streams')) === 0 ? true : undefined), 'cancelled event streams to end');
  }, timeout(30_000));

  it('echoes or replaces any X-Request-Id without breaking the response', async () => {
    await fc.assert(fc.asyncProperty(headerValue, async (rid) => {
      const reply = await http('GET', '/v1/twins/nope', { 'x-request-id': rid });
      expect(reply.code).toBe('not_found');
    }), params(0x4e06, 40));
  });

  it('keeps answering header blocks near and over 16 KiB, and header bytes HTTP forbids', async () => {
    const size = fc.oneof(fc.integer({ min: 1, max: 16 * 1024 }), fc.integer({ min: 15 * 1024, max: 80 * 1024 }));
    await fc.assert(fc.asyncProperty(size, fc.constantFrom('if-match', 'authorization', 'x-junk', 'last-event-id', 'cookie'), fc.constantFrom('a', '\u0000', '\u0001', '\r', '\u007f', '\u00ff'), async (n, name, fill) => {
      const head = await rawRequest(`GET /v1/twins/victim HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\n${name}: ${fill.repeat(n)}\r\n\r\n`);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const what = `${name} × ${n} ${JSON.stringify(fill)}: ${head.slice(0, 200)}`;
      if (status >= 400) expect(head, `${what}: every refusal is problem+json`).toMatch(/^content-type: application\/problem\+json/im);
      if (/^connection: close/im.test(head)) {
        // Node's parser refused the block before the app saw it: the adapter's problem+json.
        expect([400, 431], what).toContain(status);
      } else {
        expect([200, 400, 401, 412], what).toContain(status);
      }
      await expectHealthy(t);
    }), params(0x4e07, 30));
  }, timeout(30_000));
});

describe('HTTP query strings', () => {
  const raw = fc.oneof(
    fc.string({ maxLength: 30 }).map(encodeURIComponent),
    fc.string({ unit: 'binary', maxLength: 20 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))),
    fc.constantFrom('%', '%ZZ', '%E0%A4', '%FF', '%00', '+', '%2B', '0x10', '1e3', '-1', '1.5', '', '%205', '999999999999999999999', 'NaN', 'Infinity', 'a'.repeat(3000)),
    fc.nat({ max: 2000 }).map(String),
  );
  const param = fc.tuple(fc.constantFrom('limit', 'cursor', 'prefix', 'filter', 'fields', 'since', 'access_token', 'x', '__proto__', 'constructor'), raw).map(([k, v]) => `${k}=${v}`);
  const query = fc.array(param, { maxLength: 4 }).map((ps) => ps.join('&'));

  for (const path of ['/v1/twins', '/v1/twins/victim', '/v1/twins/victim/history', '/v1/keys']) {
    it(`answers any query on ${path} with 200 or a contract problem`, async () => {
      await fc.assert(fc.asyncProperty(query, async (q) => {
        const reply = await http('GET', `${path}?${q}`);
        expect([200, 400], q).toContain(reply.status);
        if (reply.status === 200) expect(() => JSON.parse(reply.text) as unknown).not.toThrow();
      }), params(0x4e10 + path.length, 60));
      expect(await current()).toBe(version);
    }, timeout(30_000));
  }

  it('pages through every twin with any limit and its own cursors, filters and prefixes', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.constantFrom('', 'site-a:', 'site', 'z'), fc.constantFrom('', 'tags.site == "site-a"', 'id ~ "*1"', 'not exists(reported.x)'), async (limit, prefix, filter) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 20; i++) {
        const q = new URLSearchParams({ limit: String(limit), ...(prefix === '' ? {} : { prefix }), ...(filter === '' ? {} : { filter }), ...(cursor === null ? {} : { cursor }) });
        const reply = await http('GET', `/v1/twins?${q}`);
        expect(reply.status).toBe(200);
        const page = JSON.parse(reply.text) as { items: Array<{ id: string }>; next: string | null };
        seen.push(...page.items.map((x) => x.id));
        cursor = page.next;
        if (cursor === null) break;
      }
      expect(cursor).toBeNull();
      const whole = new URLSearchParams({ limit: '1000', ...(prefix === '' ? {} : { prefix }), ...(filter === '' ? {} : { filter }) });
      const all = (JSON.parse((await http('GET', `/v1/twins?${whole}`)).text) as { items: Array<{ id: string }> }).items.map((x) => x.id);
      expect(seen).toEqual(all);
      expect(all).toEqual([...all].sort());
    }), params(0x4e20, 30));
  }, timeout(30_000));

  it('refuses any malformed filter with 400 naming its position', async () => {
    const soup = fc.array(fc.constantFrom('(', ')', 'and', 'or', 'not', 'id', '==', '"a"', '~', '1', '.', '#', '=', ' ', 'tags', '"'), { maxLength: 12 }).map((p) => p.join(''));
    await fc.assert(fc.asyncProperty(soup, async (filter) => {
      const reply = await http('GET', `/v1/twins?filter=${encodeURIComponent(filter)}`);
      if (reply.status === 400) {
        const body = JSON.parse(reply.text) as { detail: string; details: { position: number } };
        expect(body.detail).toMatch(new RegExp(`^Cannot parse filter at ${body.details.position}: `));
      } else {
        expect(reply.status).toBe(200);
      }
    }), params(0x4e21, 80));
  }, timeout(30_000));

  describe('corpus', () => {
    for (const entry of corpus('headers')) {
      // A known bug outside the fuzzed code stays visible: the entry fails until it is fixed (then drop `knownBug`).
      const test = typeof entry.knownBug === 'string' ? it.fails : it;
      test(`${entry.name}: ${entry.about}`, async () => {
        const reply = await http((entry.method as string | undefined) ?? 'GET', entry.path as string, (entry.headers as Record<string, string> | undefined) ?? {}, entry.body as string | undefined);
        expect(reply.status).toBe(entry.status);
        if (typeof entry.code === 'string') expect(reply.code).toBe(entry.code);
        expect(await current()).toBe(version);
      });
    }
  });

  it('is still healthy and unpolluted', async () => {
    await expectHealthy(t);
    expectNoPollution();
  });
});

/** Writes one raw request; resolves with the head of the answer ('' when the socket closed without one). */
function rawRequest(text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(t.server.httpPort, '127.0.0.1');
    let got = '';
    const done = () => { socket.destroy(); resolve(got.split('\r\n\r\n')[0]!); };
    socket.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.includes('\r\n\r\n')) done(); });
    socket.on('error', () => {});
    socket.on('close', done);
    socket.end(Buffer.from(text, 'latin1'));
  });
}

async function metricValue(name: string): Promise<number> {
  const text = await (await t.call('GET', '/metrics')).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}
