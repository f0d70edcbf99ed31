/**
 * Authentication and authorization over real HTTP (CONTRACT §3, §4, §5): every route against every
 * kind of credential, device views, token rotation, key revocation and per-credential rate limits.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin, deviceToken, expectJson, expectProblem } from './helpers.ts';
import type { Json } from './helpers.ts';

let t: TestServer;

beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.stop(); });

async function createKey(body: Json, token: string = ADMIN): Promise<{ id: string; token: string }> {
  return expectJson(await t.call('POST', '/v1/keys', { body, token }), 201);
}

describe('every route × every credential', () => {
  type Cred = 'none' | 'garbage' | 'admin' | 'deviceOwn' | 'deviceOther' | 'readKey' | 'prefixKeyOnA' | 'prefixKeyOnB' | 'keysAdmin';
  type Route = 'create' | 'get' | 'patch' | 'delete' | 'list' | 'history' | 'events' | 'token' | 'reported' | 'createKey' | 'listKeys' | 'deleteKey';

  /** The twin a cell targets: `a-1` except for the prefix key used outside its prefix. */
  const side = (cred: Cred) => (cred === 'prefixKeyOnB' ? 'b' : 'a');

  const keys: Record<'readKey' | 'prefixKey' | 'keysAdmin', string> = { readKey: '', prefixKey: '', keysAdmin: '' };

  beforeAll(async () => {
    keys.readKey = (await createKey({ name: 'reader', scopes: ['twins:read'] })).token;
    keys.prefixKey = (await createKey({ name: 'a-writer', scopes: ['twins:read', 'twins:write'], prefix: 'a-' })).token;
    keys.keysAdmin = (await createKey({ name: 'key-admin', scopes: ['keys:admin'] })).token;
  });

  /** Puts `a-1` and `b-1` back (they may have been deleted) and removes `a-2`/`b-2`. */
  async function reset(): Promise<void> {
    for (const id of ['a-1', 'b-1']) {
      if ((await t.call('GET', `/v1/twins/${id}`)).status === 404) await createTwin(t, id, { desired: { on: true } });
    }
    for (const id of ['a-2', 'b-2']) await t.call('DELETE', `/v1/twins/${id}`);
  }

  /** The bearer token of a cell, minted fresh where it is a device token (cells rotate them). */
  async function tokenFor(cred: Cred): Promise<string | null> {
    switch (cred) {
      case 'none': return null;
      case 'garbage': return 'not-a-real-token-at-all';
      case 'admin': return ADMIN;
      case 'deviceOwn': return deviceToken(t, 'a-1');
      case 'deviceOther': return deviceToken(t, 'b-1');
      case 'readKey': return keys.readKey;
      case 'prefixKeyOnA': case 'prefixKeyOnB': return keys.prefixKey;
      case 'keysAdmin': return keys.keysAdmin;
    }
  }

  interface Request { method: string; path: string; body?: unknown; stream?: boolean }

  const requests: Record<Route, (s: string) => Promise<Request>> = {
    create: async (s) => ({ method: 'POST', path: '/v1/twins', body: { id: `${s}-2`, desired: { on: true } } }),
    get: async (s) => ({ method: 'GET', path: `/v1/twins/${s}-1` }),
    patch: async (s) => ({ method: 'PATCH', path: `/v1/twins/${s}-1`, body: { desired: { level: Math.random() } } }),
    delete: async (s) => ({ method: 'DELETE', path: `/v1/twins/${s}-1` }),
    list: async (s) => ({ method: 'GET', path: `/v1/twins?prefix=${s}-` }),
    history: async (s) => ({ method: 'GET', path: `/v1/twins/${s}-1/history` }),
    events: async (s) => ({ method: 'GET', path: `/v1/twins/${s}-1/events`, stream: true }),
    token: async (s) => ({ method: 'POST', path: `/v1/twins/${s}-1/token` }),
    reported: async (s) => ({ method: 'PATCH', path: `/v1/twins/${s}-1/reported`, body: { level: Math.random() } }),
    createKey: async () => ({ method: 'POST', path: '/v1/keys', body: { scopes: ['keys:admin'] } }),
    listKeys: async () => ({ method: 'GET', path: '/v1/keys' }),
    // A victim within the keys:admin key's reach (test/authz covers keys beyond it).
    deleteKey: async () => ({ method: 'DELETE', path: `/v1/keys/${(await createKey({ scopes: ['keys:admin'] })).id}` }),
  };

  // Columns: none, garbage, admin, device of this twin, device of another twin, read-only key,
  // read+write key limited to "a-" on a-1, the same key on b-1, keys:admin key.
  const COLUMNS: Cred[] = ['none', 'garbage', 'admin', 'deviceOwn', 'deviceOther', 'readKey', 'prefixKeyOnA', 'prefixKeyOnB', 'keysAdmin'];
  const TABLE: Record<Route, number[]> = {
    create:    [401, 401, 201, 403, 403, 403, 201, 403, 403],
    get:       [401, 401, 200, 200, 403, 200, 200, 403, 403],
    patch:     [401, 401, 200, 403, 403, 403, 200, 403, 403],
    delete:    [401, 401, 204, 403, 403, 403, 204, 403, 403],
    list:      [401, 401, 200, 403, 403, 200, 200, 200, 403],
    history:   [401, 401, 200, 403, 403, 200, 200, 403, 403],
    events:    [401, 401, 200, 403, 403, 200, 200, 403, 403],
    token:     [401, 401, 201, 403, 403, 403, 201, 403, 403],
    reported:  [401, 401, 200, 200, 403, 403, 403, 403, 403],
    createKey: [401, 401, 201, 403, 403, 403, 403, 403, 201],
    listKeys:  [401, 401, 200, 403, 403, 403, 403, 403, 200],
    deleteKey: [401, 401, 204, 403, 403, 403, 403, 403, 204],
  };

  for (const [route, statuses] of Object.entries(TABLE) as Array<[Route, number[]]>) {
    it(`${route} answers ${COLUMNS.map((c, i) => `${c} ${statuses[i]}`).join(', ')}`, async () => {
      for (const [i, cred] of COLUMNS.entries()) {
        await reset();
        const req = await requests[route](side(cred));
        const token = await tokenFor(cred);
        const abort = new AbortController();
        const headers: Record<string, string> = {};
        if (token !== null) headers.authorization = `Bearer ${token}`;
        if (req.body !== undefined) headers['content-type'] = 'application/json';
        const res = await fetch(`${t.url}${req.path}`, {
          method: req.method, headers, signal: abort.signal, ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
        });
        const expected = statuses[i]!;
        if (req.stream === true && res.status === 200) {
          expect(res.headers.get('content-type'), `${route} × ${cred}`).toMatch(/^text\/event-stream/);
          abort.abort();
          await res.body?.cancel().catch(() => {});
        } else {
          const text = await res.text();
          expect(res.status, `${route} × ${cred}: ${text}`).toBe(expected);
          if (expected === 401) {
            expect(JSON.parse(text).code).toBe('unauthorized');
            expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
          }
          if (expected === 403) expect(JSON.parse(text).code).toBe('forbidden');
        }
        expect(res.status, `${route} × ${cred}`).toBe(expected);
      }
    });
  }

  it('a key limited to a prefix lists only twins inside it, even when asked for another prefix', async () => {
    await reset();
    const own: { items: Array<{ id: string }>; next: string | null } = await expectJson(await t.call('GET', '/v1/twins', { token: keys.prefixKey }), 200);
    expect(own.items.length).toBeGreaterThan(0);
    for (const item of own.items) expect(item.id.startsWith('a-')).toBe(true);
    expect(await expectJson(await t.call('GET', '/v1/twins?prefix=b-', { token: keys.prefixKey }), 200)).toEqual({ items: [], next: null });
    const narrower: { items: Array<{ id: string }> } = await expectJson(await t.call('GET', '/v1/twins?prefix=a-1', { token: keys.prefixKey }), 200);
    expect(narrower.items.map((i) => i.id)).toEqual(['a-1']);
  });
});

describe('device tokens', () => {
  it('read their own twin as the device view only: version, desired, reported and delta', async () => {
    await createTwin(t, 'dev-1', { desired: { temp: 21 }, tags: { secret: 'site' } });
    const token = await deviceToken(t, 'dev-1');
    expect(token).toMatch(/^dpd_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const res = await t.call('GET', '/v1/twins/dev-1', { token });
    expect(res.headers.get('etag')).toBe('"1"');
    expect(await expectJson(res, 200)).toEqual({ version: 1, desired: { temp: 21 }, reported: {}, delta: { temp: 21 } });
    // fields cannot widen the device view.
    expect(await expectJson(await t.call('GET', '/v1/twins/dev-1?fields=tags', { token }), 200)).toEqual({ version: 1, desired: { temp: 21 }, reported: {}, delta: { temp: 21 } });
    const reply = await expectJson(await t.call('PATCH', '/v1/twins/dev-1/reported', { token, body: { temp: 21 } }), 200);
    expect(reply).toEqual({ version: 2, desired: { temp: 21 }, reported: { temp: 21 }, delta: {} });
  });

  it('answer 201 with no-store, and rotation invalidates the previous token at once', async () => {
    await createTwin(t, 'dev-2');
    const res = await t.call('POST', '/v1/twins/dev-2/token');
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { token: first } = await res.json() as { token: string };
    expect((await t.call('GET', '/v1/twins/dev-2', { token: first })).status).toBe(200);
    const second = await deviceToken(t, 'dev-2');
    expect(second).not.toBe(first);
    await expectProblem(await t.call('GET', '/v1/twins/dev-2', { token: first }), 401, 'unauthorized');
    await expectProblem(await t.call('PATCH', '/v1/twins/dev-2/reported', { token: first, body: { a: 1 } }), 401, 'unauthorized');
    expect((await t.call('GET', '/v1/twins/dev-2', { token: second })).status).toBe(200);
    expect(((await expectJson(await t.call('GET', '/v1/twins/dev-2'), 200)) as { version: number }).version).toBe(1);
  });

  it('with a valid id but a wrong secret are refused with 401', async () => {
    await createTwin(t, 'dev-3');
    const token = await deviceToken(t, 'dev-3');
    const forged = `${token.slice(0, token.indexOf('.') + 1)}${'A'.repeat(43)}`;
    await expectProblem(await t.call('GET', '/v1/twins/dev-3', { token: forged }), 401, 'unauthorized');
  });
});

describe('API keys', () => {
  it('are created with 201 and shown once: GET /v1/keys never includes a token or its hash', async () => {
    const res = await t.call('POST', '/v1/keys', { body: { name: 'ci', scopes: ['twins:read'], prefix: 'ci-' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const created = await res.json() as { id: string; token: string; name: string; scopes: string[]; prefix: string; createdAt: string };
    expect(created.token).toMatch(/^dpk_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(created.token.startsWith(`dpk_${created.id}.`)).toBe(true);
    expect(created).toMatchObject({ name: 'ci', scopes: ['twins:read'], prefix: 'ci-' });

    const listText = await (await t.call('GET', '/v1/keys')).text();
    const secret = created.token.slice(created.token.indexOf('.') + 1);
    expect(listText).not.toContain(secret);
    const list = JSON.parse(listText) as { items: Json[] };
    const mine = list.items.find((k) => k.id === created.id);
    expect(mine).toEqual({ id: created.id, name: 'ci', scopes: ['twins:read'], prefix: 'ci-', createdAt: created.createdAt });
    for (const item of list.items) {
      expect(Object.keys(item).sort()).toEqual(['createdAt', 'id', 'name', 'prefix', 'scopes']);
    }
  });

  it('stop working as soon as they are deleted, and a second delete is 404', async () => {
    const key = await createKey({ scopes: ['twins:read'] });
    expect((await t.call('GET', '/v1/twins?limit=1', { token: key.token })).status).toBe(200);
    expect((await t.call('DELETE', `/v1/keys/${key.id}`)).status).toBe(204);
    await expectProblem(await t.call('GET', '/v1/twins?limit=1', { token: key.token }), 401, 'unauthorized');
    await expectProblem(await t.call('DELETE', `/v1/keys/${key.id}`), 404, 'not_found');
    const list = await expectJson<{ items: Json[] }>(await t.call('GET', '/v1/keys'), 200);
    expect(list.items.some((k) => k.id === key.id)).toBe(false);
  });

  it('with keys:admin cannot create keys with scopes they lack or outside their prefix', async () => {
    const keyAdmin = await createKey({ scopes: ['keys:admin'] });
    await expectProblem(await t.call('POST', '/v1/keys', { token: keyAdmin.token, body: { scopes: ['twins:read'] } }), 403, 'forbidden');
    await expectProblem(await t.call('POST', '/v1/keys', { token: keyAdmin.token, body: { scopes: ['keys:admin', 'twins:write'] } }), 403, 'forbidden');
    expect((await t.call('POST', '/v1/keys', { token: keyAdmin.token, body: { scopes: ['keys:admin'], prefix: 'any-' } })).status).toBe(201);

    const scoped = await createKey({ scopes: ['keys:admin', 'twins:read'], prefix: 'site-a:' });
    expect((await t.call('POST', '/v1/keys', { token: scoped.token, body: { scopes: ['twins:read'], prefix: 'site-a:room-1:' } })).status).toBe(201);
    await expectProblem(await t.call('POST', '/v1/keys', { token: scoped.token, body: { scopes: ['twins:read'], prefix: 'site-b:' } }), 403, 'forbidden');
    await expectProblem(await t.call('POST', '/v1/keys', { token: scoped.token, body: { scopes: ['twins:read'] } }), 403, 'forbidden');
  });

  it('refuse unknown scopes and unknown fields with 400', async () => {
    await expectProblem(await t.call('POST', '/v1/keys', { body: { scopes: ['root'] } }), 400, 'invalid_request');
    await expectProblem(await t.call('POST', '/v1/keys', { body: { scopes: [] } }), 400, 'invalid_request');
    await expectProblem(await t.call('POST', '/v1/keys', { body: { scopes: ['twins:read'], admin: true } }), 400, 'invalid_request');
  });
});

describe('rate limits', () => {
  let limited: TestServer;

  beforeAll(async () => { limited = await startTestServer(['--device-rate', '2', '--device-burst', '2', '--key-rate', '2', '--key-burst', '2']); });
  afterAll(async () => { await limited.stop(); });

  it('refuse the third quick request of a device with 429 and Retry-After, while another device and the admin go on', async () => {
    const token = async (id: string) => {
      expect((await limited.call('POST', '/v1/twins', { body: { id, desired: { a: 1 } } })).status).toBe(201);
      return expectJson<{ token: string }>(await limited.call('POST', `/v1/twins/${id}/token`), 201).then((r) => r.token);
    };
    const one = await token('rl-1');
    const two = await token('rl-2');

    // Two requests use up the burst; the third (a write) is refused and changes nothing.
    const burst = await Promise.all([limited.call('GET', '/v1/twins/rl-1', { token: one }), limited.call('GET', '/v1/twins/rl-1', { token: one })]);
    expect(burst.map((r) => r.status)).toEqual([200, 200]);
    const third = await limited.call('PATCH', '/v1/twins/rl-1/reported', { token: one, body: { a: 1 } });
    const retryAfter = third.headers.get('retry-after');
    await expectProblem(third, 429, 'rate_limited');
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);

    // Another device has its own bucket.
    expect((await limited.call('GET', '/v1/twins/rl-2', { token: two })).status).toBe(200);
    // The admin is never limited.
    const admin = await Promise.all(Array.from({ length: 50 }, () => limited.call('GET', '/v1/twins/rl-1')));
    expect(admin.map((r) => r.status)).toEqual(Array(50).fill(200));
    for (const r of admin.slice(1)) await r.body?.cancel();
    const twin = await expectJson<{ version: number; reported: Json }>(admin[0]!, 200);
    expect(twin).toMatchObject({ version: 1, reported: {} });
  });

  it('refuse the third quick request of an API key with 429 and Retry-After, and count each key apart', async () => {
    const key = async () => (await expectJson<{ token: string }>(await limited.call('POST', '/v1/keys', { body: { scopes: ['twins:read', 'twins:write'] } }), 201)).token;
    const one = await key();
    const two = await key();
    const burst = await Promise.all([limited.call('GET', '/v1/twins/rl-1', { token: one }), limited.call('GET', '/v1/twins/rl-1', { token: one })]);
    expect(burst.map((r) => r.status)).toEqual([200, 200]);
    for (const r of burst) await r.body?.cancel();
    const third = await limited.call('PATCH', '/v1/twins/rl-1', { token: one, body: { desired: { a: 2 } } });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectProblem(third, 429, 'rate_limited');
    expect((await limited.call('GET', '/v1/twins/rl-1', { token: two })).status).toBe(200);
    expect(await expectJson(await limited.call('GET', '/v1/twins/rl-1?fields=version,desired'), 200)).toEqual({ version: 1, desired: { a: 1 } });
  });
});

describe('write-only keys and token placement (review regressions)', () => {
  it('answers a key without twins:read only {id, version} on create and patch, so writes cannot read twins', async () => {
    const writer = (await createKey({ scopes: ['twins:write'] })).token;
    const created = await t.call('POST', '/v1/twins', { token: writer, body: { id: 'wo-1', desired: { a: 1 } } });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ id: 'wo-1', version: 1 });
    await t.call('PATCH', '/v1/twins/wo-1/reported', { body: { gps: [52.5, 13.4] } });
    const noop = await t.call('PATCH', '/v1/twins/wo-1', { token: writer, body: { clientToken: 'c1' } });
    expect(noop.status).toBe(200);
    expect(await noop.json()).toEqual({ id: 'wo-1', version: 2, clientToken: 'c1' });
    expect((await t.call('GET', '/v1/twins/wo-1', { token: writer })).status).toBe(403);
  });

  it('refuses a device token on POST /v1/twins with 403 before reading the body', async () => {
    await t.call('POST', '/v1/twins', { body: { id: 'dev-create' } });
    const token = await (await t.call('POST', '/v1/twins/dev-create/token')).json() as { token: string };
    const res = await t.call('POST', '/v1/twins', { token: token.token, raw: 'not json', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(403);
  });

  it('says how the Authorization header goes when the Bearer scheme is missing', async () => {
    const problem = await expectProblem(await t.call('GET', '/v1/twins', { token: null, headers: { authorization: ADMIN } }), 401, 'unauthorized');
    expect(problem.detail).toBe('Unauthorized: the Authorization header must be "Bearer <token>"');
  });

  it('accepts ?access_token= on event streams only', async () => {
    await t.call('POST', '/v1/twins', { body: { id: 'qs-1' } });
    expect((await t.call('GET', `/v1/twins/qs-1?access_token=${ADMIN}`, { token: null })).status).toBe(401);
    const controller = new AbortController();
    const stream = await fetch(`${t.url}/v1/twins/qs-1/events?access_token=${ADMIN}`, { signal: controller.signal });
    expect(stream.status).toBe(200);
    controller.abort();
  });
});
