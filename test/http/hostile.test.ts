/**
 * Hostile and malformed input over real HTTP (CONTRACT §1, §3): every refusal has the right status
 * and code, leaves the twin exactly as it was, and leaves the server answering.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin, deviceToken, expectHealthy, expectProblem, snapshotOf } from './helpers.ts';
import type { Json } from './helpers.ts';

const MAX_BODY = 1024 * 1024;
let t: TestServer;
let device: string;
let before: { twin: Json; events: number };

beforeAll(async () => {
  // A body limit large enough for a 100,000-deep document, so the depth check is what refuses it.
  t = await startTestServer(['--max-body-bytes', String(MAX_BODY)]);
  await createTwin(t, 'victim', { desired: { temp: 21, nested: { a: [1, 2] } }, tags: { site: 'berlin' } });
  device = await deviceToken(t, 'victim');
  expect((await t.call('PATCH', '/v1/twins/victim/reported', { token: device, body: { temp: 20 } })).status).toBe(200);
  before = await snapshotOf(t, 'victim');
  // The device's read marked it seen: connection is the one part allowed to move.
  delete (before.twin as { connection?: unknown }).connection;
});
afterAll(async () => { await t.stop(); });

// After each refusal: the twin is unchanged (version and content) and the server still answers.
afterEach(async () => {
  const now = await snapshotOf(t, 'victim');
  delete (now.twin as { connection?: unknown }).connection;
  expect(now).toEqual(before);
  await expectHealthy(t);
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

const jsonHeaders = { 'content-type': 'application/json' };

/** The three write routes of the victim, each with a raw body. */
const writes = (raw: string, headers: Record<string, string> = jsonHeaders) => [
  { what: 'create', send: () => t.call('POST', '/v1/twins', { raw, headers }) },
  { what: 'patch', send: () => t.call('PATCH', '/v1/twins/victim', { raw, headers }) },
  { what: 'reported', send: () => t.call('PATCH', '/v1/twins/victim/reported', { raw, headers, token: device }) },
];

describe('malformed bodies', () => {
  it('refuses malformed JSON with 400 invalid_request on every write route', async () => {
    for (const raw of ['{"desired":', '{desired: {}}', "{'a':1}", '{"a":1}}', '', '\u0000', '{"a":1,}']) {
      for (const w of writes(raw)) await expectProblem(await w.send(), 400, 'invalid_request');
    }
    await expectProblem(await t.call('POST', '/v1/keys', { raw: '{"scopes":[', headers: jsonHeaders }), 400, 'invalid_request');
  });

  it('refuses a body that is not valid UTF-8 with 400 invalid_request', async () => {
    const res = await fetch(`${t.url}/v1/twins/victim`, {
      method: 'PATCH', headers: { ...jsonHeaders, authorization: `Bearer ${ADMIN}` },
      body: new Uint8Array([0x7b, 0x22, 0x64, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    });
    await expectProblem(res, 400, 'invalid_request');
  });

  it('refuses a content type other than JSON with 415 unsupported_format', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/cbor', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      for (const w of writes('{"desired":{"temp":99}}', { 'content-type': type })) await expectProblem(await w.send(), 415, 'unsupported_format');
    }
  });

  it('accepts the JSON media types in any case and with parameters', async () => {
    for (const type of ['application/json; charset=utf-8', 'APPLICATION/JSON', 'application/merge-patch+json;charset=UTF-8']) {
      const res = await t.call('PATCH', '/v1/twins/victim', { raw: '{"desired":{"temp":21}}', headers: { 'content-type': type } });
      expect(res.status, type).toBe(200);
      expect(((await res.json()) as { version: number }).version).toBe(before.twin.version);
    }
  });

  it('refuses a JSON Patch (RFC 6902) body with 415 instead of applying it as a merge patch', async () => {
    // (The body would be a no-op as a merge patch, so a failure here cannot change the victim.)
    const res = await t.call('PATCH', '/v1/twins/victim', { raw: '{"desired":{"temp":21}}', headers: { 'content-type': 'application/json-patch+json' } });
    await expectProblem(res, 415, 'unsupported_format');
  });

  it('refuses a body that is JSON but not an object with 400', async () => {
    for (const raw of ['[]', '"x"', '42', 'null', 'true']) {
      await expectProblem(await t.call('POST', '/v1/twins', { raw, headers: jsonHeaders }), 400, 'invalid_request');
      await expectProblem(await t.call('PATCH', '/v1/twins/victim', { raw, headers: jsonHeaders }), 400, 'invalid_request');
    }
    // On the reported route the body is the document itself, so a non-object is a wrong type.
    for (const raw of ['[]', '"x"', '42', 'true']) {
      await expectProblem(await t.call('PATCH', '/v1/twins/victim/reported', { raw, headers: jsonHeaders, token: device }), 400, 'invalid_document');
    }
  });

  it('refuses desired or tags that are not objects with 400 invalid_document (CONTRACT §3: wrong type)', async () => {
    for (const value of [[1, 2], 'hot', 42, true]) {
      await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { desired: value } }), 400, 'invalid_document');
      await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { tags: value } }), 400, 'invalid_document');
      await expectProblem(await t.call('POST', '/v1/twins', { body: { id: 'typed-1', desired: value } }), 400, 'invalid_document');
    }
    expect((await t.call('GET', '/v1/twins/typed-1')).status).toBe(404);
  });

  it('refuses unknown body fields with 400 invalid_request naming the field', async () => {
    const p = await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { desird: { temp: 99 } } }), 400, 'invalid_request');
    expect(p.detail).toBe('Unknown key "desird" in patch');
    await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { desired: { temp: 99 }, reported: { temp: 99 } } }), 400, 'invalid_request');
    await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { desired: { temp: 99 }, version: 7 } }), 400, 'invalid_request');
    await expectProblem(await t.call('POST', '/v1/twins', { body: { id: 'new-1', reported: { a: 1 } } }), 400, 'invalid_request');
    expect((await t.call('GET', '/v1/twins/new-1')).status).toBe(404);
  });
});

describe('body size', () => {
  const port = () => Number(new URL(t.url).port);

  /**
   * One request on its own connection (node:http, no agent), so a connection the server gives up
   * on cannot break later requests of the suite. `body` is sent whole (with Content-Length) or,
   * as a generator, chunked; sending stops once the answer has arrived.
   */
  function send(method: string, path: string, body: string | (() => Generator<string>), token = ADMIN): Promise<Response> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const headers: Record<string, string | number> = { ...jsonHeaders, authorization: `Bearer ${token}` };
      if (typeof body === 'string') headers['content-length'] = Buffer.byteLength(body);
      const req = request({ host: '127.0.0.1', port: port(), method, path, headers, agent: false }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode!, headers: h }));
          req.destroy();
        });
      });
      req.on('error', (err) => { if (!answered) reject(err); });
      if (typeof body === 'string') { req.end(body); return; }
      const pieces = body();
      const pump = () => {
        for (let n = pieces.next(); !n.done; n = pieces.next()) {
          if (answered || req.destroyed) return;
          if (!req.write(n.value)) { req.once('drain', pump); return; }
        }
        if (!answered) req.end();
      };
      pump();
    });
  }

  const oversized = JSON.stringify({ desired: { blob: 'x'.repeat(MAX_BODY) } });
  function* chunked(): Generator<string> {
    yield '{"desired":{"list":[';
    // Never more than twice the limit, so the upload ends even if nobody reads it.
    for (let sent = 0; sent < 2 * MAX_BODY; sent += 64 * 1024) yield `"${'y'.repeat(64 * 1024 - 3)}",`;
    yield '1]}}';
  }

  it('refuses a body over --max-body-bytes with 413 too_large when it declares its Content-Length', async () => {
    for (const [method, path] of [['POST', '/v1/twins'], ['PATCH', '/v1/twins/victim'], ['POST', '/v1/keys']]) {
      const p = await expectProblem(await send(method!, path!, oversized), 413, 'too_large');
      expect(p.details).toEqual({ section: 'body', limit: MAX_BODY });
    }
    await expectProblem(await send('PATCH', '/v1/twins/victim/reported', oversized, device), 413, 'too_large');
  });

  it('refuses a chunked body over --max-body-bytes with 413 too_large while reading it', async () => {
    for (const [method, path] of [['POST', '/v1/twins'], ['PATCH', '/v1/twins/victim']]) {
      const p = await expectProblem(await send(method!, path!, chunked), 413, 'too_large');
      expect(p.details).toEqual({ section: 'body', limit: MAX_BODY });
    }
    await expectProblem(await send('PATCH', '/v1/twins/victim/reported', chunked, device), 413, 'too_large');
  });

  /**
   * Raw HTTP/1.1: the oversized request, then (once the 413 is in and `pauseMs` has passed) the
   * rest of its body and a second request on the same connection. Returns everything received.
   */
  async function keepAliveAfter413(mode: 'content-length' | 'chunked', pauseMs: number): Promise<string> {
    const total = 2 * MAX_BODY;
    const piece = 'x'.repeat(64 * 1024);
    const frame = () => (mode === 'chunked' ? `${piece.length.toString(16)}\r\n${piece}\r\n` : piece);
    const socket = connect(port(), '127.0.0.1');
    let text = '';
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    socket.on('error', () => {});
    socket.write(`PATCH /v1/twins/victim HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\n${
      mode === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${total}`}\r\n\r\n`);
    let sent = 0;
    while (sent < MAX_BODY + piece.length) { socket.write(frame()); sent += piece.length; }
    const deadline = Date.now() + 10_000;
    while (!text.includes('\r\n\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, pauseMs));
    if (!socket.destroyed) {
      while (sent < total) { socket.write(frame()); sent += piece.length; }
      if (mode === 'chunked') socket.write('0\r\n\r\n');
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    }
    const until = Date.now() + 3000;
    while (!socket.destroyed && !/HTTP\/1\.1 200/.test(text) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    socket.destroy();
    await closed;
    return text;
  }

  for (const [mode, pauseMs] of [['chunked', 0], ['content-length', 700]] as const) {
    it(`after a 413 for an oversized ${mode} body, either says Connection: close or answers the next request on that connection`, async () => {
      const text = await keepAliveAfter413(mode, pauseMs);
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      expect(head).toMatch(/^HTTP\/1\.1 413/);
      const announcedClose = /^connection:\s*close/im.test(head);
      const servedNext = /HTTP\/1\.1 200/.test(text);
      expect(announcedClose || servedNext, `413 head:\n${head}\n(the connection was dropped without "Connection: close", so a keep-alive client's next request fails)`).toBe(true);
    });
  }

  it('measures document size in UTF-8 bytes, not characters', async () => {
    // 11,000 euro signs are 11,000 characters but 33,000 bytes: over 32 KiB.
    await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { desired: { s: '€'.repeat(11_000) } } }), 413, 'too_large');
    await createTwin(t, 'utf8-1');
    const ok = await t.call('PATCH', '/v1/twins/utf8-1', { body: { desired: { s: '€'.repeat(10_000), emoji: '🌡️' } } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { desired: Json }).desired).toEqual({ s: '€'.repeat(10_000), emoji: '🌡️' });
  });

  it('refuses desired over 32 KiB with 413 too_large, also when a patch grows it past the limit', async () => {
    const p = await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { desired: { blob: 'z'.repeat(33 * 1024) } } }), 413, 'too_large');
    expect(p.details).toMatchObject({ section: 'desired', limit: 32 * 1024 });
    await expectProblem(await t.call('POST', '/v1/twins', { body: { id: 'big-1', desired: { blob: 'z'.repeat(33 * 1024) } } }), 413, 'too_large');
    expect((await t.call('GET', '/v1/twins/big-1')).status).toBe(404);
    await expectProblem(await t.call('PATCH', '/v1/twins/victim/reported', { token: device, body: { blob: 'z'.repeat(33 * 1024) } }), 413, 'too_large');
    await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { tags: { blob: 'z'.repeat(9 * 1024) } } }), 413, 'too_large');

    // Each half fits; together they do not.
    await createTwin(t, 'grow-1', { desired: { a: 'q'.repeat(20 * 1024) } });
    await expectProblem(await t.call('PATCH', '/v1/twins/grow-1', { body: { desired: { b: 'q'.repeat(20 * 1024) } } }), 413, 'too_large');
    const grow = await (await t.call('GET', '/v1/twins/grow-1')).json() as { version: number; desired: Json };
    expect(grow.version).toBe(1);
    expect(Object.keys(grow.desired)).toEqual(['a']);
  });
});

describe('nesting depth', () => {
  const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const deepArray = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('refuses a 100,000-deep document with 413 too_deep without exhausting the stack', async () => {
    const objects = deepObject(100_000);
    const arrays = deepArray(100_000);
    for (const doc of [objects, arrays]) {
      const raw = doc === arrays ? `{"desired":{"x":${doc}}}` : `{"desired":${doc}}`;
      expect(raw.length).toBeLessThan(MAX_BODY);
      await expectProblem(await t.call('PATCH', '/v1/twins/victim', { raw, headers: jsonHeaders }), 413, 'too_deep');
      await expectProblem(await t.call('POST', '/v1/twins', { raw: `{"id":"deep-1",${raw.slice(1)}`, headers: jsonHeaders }), 413, 'too_deep');
      await expectProblem(await t.call('PATCH', '/v1/twins/victim/reported', { raw: doc === arrays ? `{"x":${doc}}` : doc, headers: jsonHeaders, token: device }), 413, 'too_deep');
    }
    expect((await t.call('GET', '/v1/twins/deep-1')).status).toBe(404);
  });

  it('accepts depth 10 and refuses depth 11 with 413 too_deep', async () => {
    await createTwin(t, 'depth-1');
    // The section object is depth 1: {"a":{...}} nests one more per level.
    const ok = await t.call('PATCH', '/v1/twins/depth-1', { raw: `{"desired":${deepObject(9).replace('1}', '{}}')}}`, headers: jsonHeaders });
    expect(ok.status).toBe(200);
    const p = await expectProblem(await t.call('PATCH', '/v1/twins/depth-1', { raw: `{"desired":${deepObject(10).replace('1}', '{}}')}}`, headers: jsonHeaders }), 413, 'too_deep');
    expect(p.details).toMatchObject({ maxDepth: 10 });
  });
});

describe('forbidden and invalid keys', () => {
  const poison = (key: string) => [
    { [key]: { polluted: 'yes' } },
    { ok: { [key]: { polluted: 'yes' } } },
    { ok: { deeper: [{ [key]: { polluted: 'yes' } }] } },
    { a: { b: { c: { d: { [key]: 'yes' } } } } },
  ];

  for (const key of ['__proto__', 'constructor', 'prototype']) {
    it(`refuses "${key}" at any depth of desired, reported and tags with 400 invalid_document`, async () => {
      const wrong: string[] = [];
      for (const doc of poison(key)) {
        // A computed key is an own property, so the text really carries the key.
        const text = JSON.stringify(doc);
        expect(text).toContain(`"${key}"`);
        const id = `poison-${key.replaceAll('_', '')}`;
        const cases: Array<[string, () => Promise<Response>]> = [
          ['create desired', () => t.call('POST', '/v1/twins', { raw: `{"id":"${id}","desired":${text}}`, headers: jsonHeaders })],
          ['create tags', () => t.call('POST', '/v1/twins', { raw: `{"id":"${id}","tags":${text}}`, headers: jsonHeaders })],
          ['patch desired', () => t.call('PATCH', '/v1/twins/victim', { raw: `{"desired":${text}}`, headers: jsonHeaders })],
          ['patch tags', () => t.call('PATCH', '/v1/twins/victim', { raw: `{"tags":${text}}`, headers: jsonHeaders })],
          ['report', () => t.call('PATCH', '/v1/twins/victim/reported', { raw: text, headers: jsonHeaders, token: device })],
        ];
        for (const [what, send] of cases) {
          const res = await send();
          const body = JSON.parse(await res.text()) as { code?: string };
          if (res.status !== 400 || body.code !== 'invalid_document') wrong.push(`${what} ${text} → ${res.status} ${body.code ?? 'ok'}`);
          if (res.status === 201) await t.call('DELETE', `/v1/twins/${id}`);
        }
        expect((await t.call('GET', `/v1/twins/${id}`)).status, `${id} must not exist`).toBe(404);
      }
      // Every accepted case is listed, so a failure shows the whole pattern at once.
      expect(wrong).toEqual([]);
    });
  }

  it('refuses a key longer than 128 characters with 400 invalid_document, and accepts 128', async () => {
    const p = await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { desired: { [`k${'e'.repeat(128)}`]: 1 } } }), 400, 'invalid_document');
    expect(p.details).toMatchObject({ maxKeyLength: 128 });
    await expectProblem(await t.call('PATCH', '/v1/twins/victim', { body: { desired: { ok: { [`k${'e'.repeat(128)}`]: 1 } } } }), 400, 'invalid_document');
    await expectProblem(await t.call('PATCH', '/v1/twins/victim/reported', { token: device, body: { [`k${'e'.repeat(128)}`]: 1 } }), 400, 'invalid_document');
    await createTwin(t, 'longkey-1');
    expect((await t.call('PATCH', '/v1/twins/longkey-1', { body: { desired: { [`k${'e'.repeat(127)}`]: 1 } } })).status).toBe(200);
  });

  it('refuses non-finite numbers such as 1e400 with 400', async () => {
    for (const raw of ['{"desired":{"temp":1e400}}', '{"desired":{"temp":-1e400}}', '{"desired":{"a":[1,2,1e999]}}']) {
      const res = await t.call('PATCH', '/v1/twins/victim', { raw, headers: jsonHeaders });
      const p = await expectProblem(res, 400, 'invalid_document');
      expect(p.detail).toContain('desired');
    }
    await expectProblem(await t.call('PATCH', '/v1/twins/victim/reported', { raw: '{"temp":1e400}', headers: jsonHeaders, token: device }), 400, 'invalid_document');
    // NaN and Infinity are not JSON at all.
    await expectProblem(await t.call('PATCH', '/v1/twins/victim', { raw: '{"desired":{"temp":NaN}}', headers: jsonHeaders }), 400, 'invalid_request');
    await expectProblem(await t.call('PATCH', '/v1/twins/victim', { raw: '{"desired":{"temp":Infinity}}', headers: jsonHeaders }), 400, 'invalid_request');
  });
});

describe('twin ids', () => {
  const BAD = [`a${'b'.repeat(128)}`, 'a b', 'a$b', 'a/b', 'ä', '.a', '-a', '_a', ':a', 'a\nb', 'a%b', 'a?b'];

  it('refuses bad ids in the path with 400 invalid_request on every twin route', async () => {
    for (const id of BAD) {
      const path = `/v1/twins/${encodeURIComponent(id)}`;
      for (const [method, suffix, body] of [['GET', '', undefined], ['PATCH', '', { desired: { a: 1 } }], ['DELETE', '', undefined], ['GET', '/history', undefined], ['POST', '/token', undefined], ['GET', '/events', undefined]] as const) {
        const res = await t.call(method, `${path}${suffix}`, body === undefined ? {} : { body });
        await expectProblem(res, 400, 'invalid_request');
      }
    }
  });

  it('refuses bad ids in a create body with 400 invalid_request', async () => {
    for (const id of [...BAD, '', 42, null]) {
      await expectProblem(await t.call('POST', '/v1/twins', { body: { id } }), 400, 'invalid_request');
    }
    await expectProblem(await t.call('POST', '/v1/twins', { body: { desired: {} } }), 400, 'invalid_request');
  });
});

describe('credentials', () => {
  it('refuses missing, malformed and wrong tokens with 401 and WWW-Authenticate', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: `Basic ${btoa(`admin:${ADMIN}`)}` },
      { authorization: `Bearer ${ADMIN}x` },
      { authorization: `Bearer ${ADMIN.slice(0, -1)}` },
      { authorization: `Bearer ${ADMIN} extra` },
      { authorization: 'Bearer dpk_AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBB' },
      { authorization: 'Bearer dpd_AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBB' },
      { authorization: `Bearer ${device.replace('dpd_', 'dpk_')}` },
    ];
    for (const headers of attempts) {
      for (const [method, path, body] of [['GET', '/v1/twins/victim', undefined], ['PATCH', '/v1/twins/victim', { desired: { temp: 99 } }], ['PATCH', '/v1/twins/victim/reported', { temp: 99 }], ['DELETE', '/v1/twins/victim', undefined], ['GET', '/v1/keys', undefined]] as const) {
        const res = await fetch(`${t.url}${path}`, {
          method, headers: { ...headers, ...(body === undefined ? {} : jsonHeaders) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        expect(res.headers.get('www-authenticate'), `${method} ${path} ${JSON.stringify(headers)}`).toMatch(/^Bearer realm=/);
        await expectProblem(res, 401, 'unauthorized');
      }
    }
  });

  it('authenticates before reading the body: a refused credential never gets a 413 or a 400', async () => {
    const res = await t.call('PATCH', '/v1/twins/victim', { token: 'wrong-token-wrong-token', raw: '{not json', headers: jsonHeaders });
    await expectProblem(res, 401, 'unauthorized');
  });
});
