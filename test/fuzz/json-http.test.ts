/**
 * Fuzzes JSON request bodies over real HTTP on every write route (create, patch, reported, keys):
 * hostile JSON text (1e400, 400-digit numbers, duplicate keys, `__proto__`/`constructor`/
 * `prototype` keys, escaped and raw lone surrogates, NUL), deep nesting, a BOM, bytes that are not
 * UTF-8, single-character mutations of valid bodies, wrong and odd content types, and bodies sent
 * chunked in random pieces just under and over `--max-body-bytes`.
 *
 * Invariants: every answer is 2xx JSON or problem+json with a contract code and its status
 * (never 500); a refused request leaves the victim twin exactly as it was; depth over the limit
 * is 413 too_deep; a body over the limit is 413 too_large however it is chunked; the server stays
 * up and nothing is set on a prototype. FUZZ_RUNS multiplies the runs.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { asResponse, send } from './http-client.ts';
import type { RawReply } from './http-client.ts';
import { hostileJson, hostileKeys, mutateText, nested } from './json-gen.ts';
import { corpus, expectHealthy, expectNoPollution, expectProblem, params, timeout } from './support.ts';

const MAX_BODY = 64 * 1024;
let t: TestServer;
let device: string;

beforeAll(async () => {
  t = await startTestServer(['--max-body-bytes', String(MAX_BODY), '--device-rate', '1000000', '--device-burst', '1000000']);
  const created = await t.call('POST', '/v1/twins', { body: { id: 'victim', desired: { temp: 21, nested: { a: [1, 2] } }, tags: { site: 'berlin' } } });
  expect(created.status).toBe(201);
  device = ((await (await t.call('POST', '/v1/twins/victim/token')).json()) as { token: string }).token;
});
afterAll(async () => { await t?.stop(); });

/** What a refused request must not change: the victim's content (connection aside) and version. */
async function victim(): Promise<string> {
  const twin = (await (await t.call('GET', '/v1/twins/victim')).json()) as Record<string, unknown>;
  delete twin.connection;
  return JSON.stringify(twin);
}

type Route = 'create' | 'patch' | 'reported' | 'keys';
const ROUTES: Record<Route, { method: string; path: string; token: () => string }> = {
  create: { method: 'POST', path: '/v1/twins', token: () => ADMIN },
  patch: { method: 'PATCH', path: '/v1/twins/victim', token: () => ADMIN },
  reported: { method: 'PATCH', path: '/v1/twins/victim/reported', token: () => device },
  keys: { method: 'POST', path: '/v1/keys', token: () => ADMIN },
};

/** Sends, checks the answer's shape and that a refusal changed nothing; returns the reply. */
async function write(route: Route, body: Buffer | Buffer[], contentType: string | null = 'application/json', headers: Record<string, string> = {}): Promise<RawReply & { code?: string }> {
  const before = await victim();
  const r = ROUTES[route];
  const reply = await send(t.server.httpPort, {
    method: r.method, path: r.path,
    headers: { authorization: `Bearer ${r.token()}`, ...(contentType === null ? {} : { 'content-type': contentType }), ...headers },
    ...(Array.isArray(body) ? { chunks: body } : { body }),
  });
  const context = `${route} ${(Array.isArray(body) ? Buffer.concat(body) : body).toString('utf8').slice(0, 200)}`;
  expectNoPollution();
  if (reply.status >= 200 && reply.status < 300) {
    expect(reply.headers['content-type'], context).toMatch(/^application\/json/);
    expect(() => JSON.parse(reply.text) as unknown, context).not.toThrow();
    return reply;
  }
  const code = await expectProblem(asResponse(reply), context);
  expect(await victim(), `${context}: refused (${code}) but the victim changed`).toBe(before);
  return { ...reply, code };
}

/** The body a route reads, around a hostile document. */
const envelope = (route: Route, doc: string): fc.Arbitrary<string> => {
  switch (route) {
    case 'create': return fc.constantFrom(`{"id":"victim","desired":${doc}}`, `{"id":"fz-x","tags":${doc},"desired":${doc}}`, `{"id":${doc}}`, doc);
    case 'patch': return fc.constantFrom(`{"desired":${doc}}`, `{"tags":${doc}}`, `{"desired":{"x":${doc}}}`, `{"desired":{},"desired":${doc}}`, doc, `{"clientToken":${doc}}`);
    case 'reported': return fc.constantFrom(doc, `{"x":${doc}}`, `[${doc}]`);
    case 'keys': return fc.constantFrom(`{"scopes":${doc}}`, `{"scopes":["twins:read"],"prefix":${doc}}`, doc);
  }
};
const route = fc.constantFrom<Route>('create', 'patch', 'patch', 'reported', 'reported', 'keys');

describe('JSON bodies over HTTP', () => {
  it('answers hostile JSON documents on every write route with 2xx or a contract problem', async () => {
    const body = route.chain((r) => hostileJson.chain((doc) => envelope(r, doc)).map((text) => [r, text] as const));
    await fc.assert(fc.asyncProperty(body, async ([r, text]) => {
      const reply = await write(r, Buffer.from(text));
      // What JSON.parse takes must have passed the reader: only the core may refuse it then.
      if (reply.code === 'invalid_request' && r !== 'keys' && r !== 'create') expect(reply.text).not.toMatch(/Malformed JSON|not valid UTF-8/);
    }), params(0x7501, 150));
  }, timeout(60_000));

  it('refuses mutated, mis-encoded and BOM-prefixed bodies only with contract problems', async () => {
    const valid = fc.constantFrom('{"desired":{"temp":22}}', '{"desired":{"a":{"b":[1,2,{"c":null}]}},"tags":{"site":"x"}}', '{"temp":19.5,"fw":"1.2"}');
    const bytes = fc.oneof(
      valid.chain(mutateText).map((s) => Buffer.from(s)),
      fc.tuple(valid, fc.nat(), fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xef, 0xbb, 0xbf]))
        .map(([s, at, junk]) => { const b = Buffer.from(s); const i = at % (b.length + 1); return Buffer.concat([b.subarray(0, i), Buffer.from(junk), b.subarray(i)]); }),
      valid.map((s) => Buffer.from(`\ufeff${s}`)),
    );
    await fc.assert(fc.asyncProperty(fc.constantFrom<Route>('patch', 'reported'), bytes, async (r, b) => { await write(r, b); }), params(0x7502, 120));
  }, timeout(60_000));

  it('refuses a document nested deeper than 10 with 413 too_deep, at any depth, without exhausting the stack', async () => {
    const openers = fc.array(fc.constantFrom('{"a":', '['), { minLength: 1, maxLength: 40 });
    await fc.assert(fc.asyncProperty(openers, fc.nat({ max: 20_000 }), async (levels, more) => {
      const all = ['{"a":', ...levels, ...Array.from({ length: more }, () => levels[0]!)];
      const text = `{"desired":${nested(all)}}`;
      const reply = await write('patch', Buffer.from(text));
      if (text.length > MAX_BODY) expect(reply.code).toBe('too_large');
      else if (all.length > 10) expect(reply.code).toBe('too_deep');
      else expect(reply.status).toBe(200);
    }), params(0x7503, 40));
  }, timeout(60_000));

  it('refuses every content type but JSON and merge-patch JSON with 415 before reading the body', async () => {
    const type = fc.oneof(
      fc.constantFrom('text/plain', 'application/jsonx', 'application/json-patch+json', 'application/cbor', 'multipart/form-data; boundary=x', 'json', 'application/', '*/*', 'application/x-www-form-urlencoded', 'application/ json'),
      fc.string({ maxLength: 30 }).filter((s) => /^[\x21-\x7e][\x20-\x7e]*$/.test(s) && !/^application\/(merge-patch\+)?json\s*(;|$)/i.test(s)),
    );
    await fc.assert(fc.asyncProperty(fc.constantFrom<Route>('create', 'patch', 'reported'), type, async (r, ct) => {
      const reply = await write(r, Buffer.from('{"desired":{"temp":99}}'), ct);
      expect(reply.code, ct).toBe('unsupported_format');
    }), params(0x7504, 60));
  }, timeout(30_000));

  it('counts chunked bodies while reading: 413 too_large over the limit however they are cut, normal below', async () => {
    const total = fc.oneof(fc.integer({ min: MAX_BODY - 64, max: MAX_BODY + 64 }), fc.integer({ min: 16, max: 4 * MAX_BODY }));
    await fc.assert(fc.asyncProperty(total, fc.array(fc.integer({ min: 512, max: 40_000 }), { minLength: 1, maxLength: 12 }), async (size, cuts) => {
      const doc = '{"desired":{}}';
      const body = Buffer.from(' '.repeat(Math.max(0, size - doc.length)) + doc);
      const chunks: Buffer[] = [];
      for (let at = 0, i = 0; at < body.length; i++) { const n = cuts[i % cuts.length]!; chunks.push(body.subarray(at, at + n)); at += n; }
      const reply = await write('patch', chunks);
      if (body.length > MAX_BODY) {
        expect(reply.code).toBe('too_large');
        expect(JSON.parse(reply.text)).toMatchObject({ details: { section: 'body', limit: MAX_BODY } });
      } else {
        expect(reply.status).toBe(200);
      }
    }), params(0x7505, 30));
  }, timeout(60_000));

  it('refuses hostile keys anywhere in desired, reported and tags with 400 invalid_document', async () => {
    const key = hostileKeys.filter((k) => ['__proto__', 'constructor', 'prototype', 'x'.repeat(129)].includes(k));
    const path = fc.array(fc.constantFrom('a', 'b'), { maxLength: 5 });
    await fc.assert(fc.asyncProperty(fc.constantFrom('desired', 'tags', 'reported'), path, key, async (section, p, k) => {
      const doc = nested(p.map((s) => `{"${s}":`), `{"${k}":{"polluted":true}}`);
      const reply = section === 'reported' ? await write('reported', Buffer.from(doc)) : await write('patch', Buffer.from(`{"${section}":${doc}}`));
      expect(reply.code).toBe('invalid_document');
    }), params(0x7506, 40));
  }, timeout(30_000));

  describe('corpus', () => {
    for (const entry of corpus('json-http')) {
      it(`${entry.name}: ${entry.about}`, async () => {
        const body = typeof entry.base64 === 'string' ? Buffer.from(entry.base64, 'base64') : Buffer.from(entry.body as string);
        const reply = await write(entry.route as Route, body, (entry.contentType as string | null | undefined) ?? 'application/json');
        if (typeof entry.code === 'string') expect(reply.code).toBe(entry.code);
        else expect(reply.status).toBe(entry.status);
      });
    }
  });

  it('is still healthy and unpolluted', async () => {
    await expectHealthy(t);
    expectNoPollution();
  });
});
