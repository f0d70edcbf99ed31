/**
 * The HTTP routes around the twin matrix: the open ones (/healthz, /readyz, /metrics, /openapi.json,
 * /docs) × every credential, with and without --metrics-auth; where a token may travel
 * (`?access_token=` on event streams only); that an event stream ends with its key; and how far
 * a keys:admin key reaches (keys within its own scopes and prefix, never device tokens).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse } from '../http/helpers.ts';
import { ADMIN } from '../support/server.ts';
import { CREDS, expectNoTwinData, setupFixture } from './fixtures.ts';
import type { Fixture, Key } from './fixtures.ts';

let fx: Fixture;
let guarded: Fixture;
beforeAll(async () => {
  [fx, guarded] = await Promise.all([setupFixture(), setupFixture(['--metrics-auth'])]);
  await fx.twin('a-open');
  await guarded.twin('a-open');
});
afterAll(async () => { await Promise.all([fx?.stop(), guarded?.stop()]); });

// The open routes ignore a credential, even a wrong one; with --metrics-auth, /metrics needs any
// valid one (a device token too: metrics carry no twin data) and only in the header.
const OPEN: Record<string, { server: () => Fixture; path: string; query?: boolean; cells: readonly number[] }> = {
  //                                                                               none unkn malf dev  oDev read writ preA preB kAdm admin
  'GET /healthz':                       { server: () => fx, path: '/healthz',      cells: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
  'GET /readyz':                        { server: () => fx, path: '/readyz',       cells: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
  'GET /metrics':                       { server: () => fx, path: '/metrics',      cells: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
  'GET /openapi.json':                  { server: () => fx, path: '/openapi.json', cells: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
  'GET /docs':                          { server: () => fx, path: '/docs',         cells: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
  'GET /metrics, --metrics-auth':       { server: () => guarded, path: '/metrics', cells: [401, 401, 401, 200, 200, 200, 200, 200, 200, 200, 200] },
  'GET /metrics?access_token=, --metrics-auth': { server: () => guarded, path: '/metrics', query: true, cells: [401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401] },
  'GET /healthz, --metrics-auth':       { server: () => guarded, path: '/healthz', cells: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
};

describe('HTTP: open routes × every credential', () => {
  for (const [name, row] of Object.entries(OPEN)) {
    for (const [i, cred] of CREDS.entries()) {
      const expected = row.cells[i]!;
      it(`${name} × ${cred} → ${expected}`, async () => {
        const s = row.server();
        const token = await s.token(cred, 'a-open');
        const headers: Record<string, string> = {};
        let path = row.path;
        if (token !== null && row.query === true) path += `?access_token=${encodeURIComponent(token)}`;
        else if (token !== null) headers.authorization = `Bearer ${token}`;
        const res = await fetch(`${s.t.url}${path}`, { headers });
        const text = await res.text();
        expect(res.status, text.slice(0, 200)).toBe(expected);
        expectNoTwinData(text, name);
        if (expected === 401) expect(JSON.parse(text)).toMatchObject({ code: 'unauthorized' });
      });
    }
  }
});

describe('HTTP: ?access_token= is for event streams only', () => {
  it('is ignored on every other route, also on a twin whose id is "events"', async () => {
    await fx.twin('events');
    const q = `access_token=${encodeURIComponent(ADMIN)}`;
    const before = await fx.state('events');
    for (const [method, path, body] of [
      ['GET', `/v1/twins/events?${q}`],
      ['PATCH', `/v1/twins/events?${q}`, { desired: { level: 1 } }],
      ['DELETE', `/v1/twins/events?${q}`],
      ['POST', `/v1/twins/events/token?${q}`],
      ['GET', `/v1/twins/events/history?${q}`],
      ['GET', `/v1/twins?${q}`],
      ['GET', `/v1/keys?${q}`],
    ] as Array<[string, string, unknown?]>) {
      const res = await fetch(`${fx.t.url}${path}`, {
        method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBe(401);
      expectNoTwinData(text, path);
    }
    expect(await fx.state('events')).toEqual(before);
    // The stream of that twin does take it.
    const abort = new AbortController();
    const stream = await fetch(`${fx.t.url}/v1/twins/events/events?${q}`, { signal: abort.signal });
    expect(stream.status).toBe(200);
    abort.abort();
  });
});

describe('HTTP: an event stream ends when its key is revoked', () => {
  it('before the next change, whichever way the key travelled; the admin\'s stream goes on', async () => {
    await fx.twin('a-revoked-stream');
    const key = (await (await fx.t.call('POST', '/v1/keys', { body: { scopes: ['twins:read'] } })).json()) as Key;
    const path = '/v1/twins/a-revoked-stream/events';
    const streams = [
      (await openSse(fx.t, path, { token: key.token })).stream!,
      (await openSse(fx.t, `${path}?access_token=${encodeURIComponent(key.token)}`, { token: null })).stream!,
      (await openSse(fx.t, path)).stream!,
    ];
    try {
      for (const s of streams) expect((await s.next())?.event).toBe('snapshot');
      expect((await fx.t.call('DELETE', `/v1/keys/${key.id}`)).status).toBe(204);
      expect((await fx.t.call('PATCH', '/v1/twins/a-revoked-stream', { body: { desired: { level: 1 } } })).status).toBe(200);
      const [header, query, admin] = streams;
      expect(await admin!.next()).toMatchObject({ event: 'change', id: '3' });
      expect(await header!.next(), 'the header stream ended, with no change').toBeNull();
      expect(await query!.next(), 'the ?access_token= stream ended, with no change').toBeNull();
    } finally {
      for (const s of streams) s.close();
    }
  });
});

describe('HTTP: a keys:admin key manages only keys within its own scopes and prefix', () => {
  const create = async (token: string, body: Record<string, unknown>) => fetch(`${fx.t.url}/v1/keys`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const adminKey = async (body: Record<string, unknown>): Promise<Key> => (await (await create(ADMIN, body)).json()) as Key;
  const listAs = async (token: string) => {
    const res = await fetch(`${fx.t.url}/v1/keys`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: Array<{ id: string; scopes: string[]; prefix: string | null }> }).items;
  };
  const remove = (token: string, id: string) => fetch(`${fx.t.url}/v1/keys/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  const works = async (key: Key) => (await fetch(`${fx.t.url}/v1/twins/a-open`, { headers: { authorization: `Bearer ${key.token}` } })).status !== 401;

  it('an unlimited keys:admin key cannot grant, see or revoke scopes it lacks', async () => {
    const manager = fx.keys.keysAdmin.token;
    const count = (await listAs(ADMIN)).length;
    expect((await create(manager, { scopes: ['twins:read'] })).status).toBe(403);
    expect((await create(manager, { scopes: ['keys:admin', 'twins:write'] })).status).toBe(403);
    expect((await listAs(ADMIN)).length).toBe(count);
    expect((await create(manager, { scopes: ['keys:admin'], prefix: 'x-' })).status).toBe(201);

    const seen = (await listAs(manager)).map((k) => k.id);
    expect(seen).toContain(fx.keys.keysAdmin.id);
    for (const k of [fx.keys.read, fx.keys.write, fx.keys.prefixed]) expect(seen).not.toContain(k.id);

    const res = await remove(manager, fx.keys.write.id);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'forbidden' });
    expect(await works(fx.keys.write)).toBe(true);
  });

  it('a prefix-limited keys:admin key stays inside its prefix and scopes', async () => {
    const scoped = await adminKey({ name: 'site-a admin', scopes: ['keys:admin', 'twins:read'], prefix: 'a-' });
    expect((await create(scoped.token, { scopes: ['twins:read'], prefix: 'a-x' })).status).toBe(201);
    for (const body of [{ scopes: ['twins:read'], prefix: 'b-' }, { scopes: ['twins:read'] }, { scopes: ['twins:write'], prefix: 'a-' }]) {
      expect((await create(scoped.token, body)).status, JSON.stringify(body)).toBe(403);
    }
    const outsideB = await adminKey({ scopes: ['twins:read'], prefix: 'b-' });
    const unlimited = await adminKey({ scopes: ['twins:read'] });
    const mine = await adminKey({ scopes: ['twins:read'], prefix: 'a-mine' });
    const seen = await listAs(scoped.token);
    for (const k of seen) {
      expect(k.prefix?.startsWith('a-'), JSON.stringify(k)).toBe(true);
      for (const s of k.scopes) expect(['keys:admin', 'twins:read']).toContain(s);
    }
    expect(seen.map((k) => k.id)).toContain(mine.id);
    // Beyond its prefix (b-, none) or its scopes (the a- key with twins:write): refused, and it keeps working.
    for (const victim of [outsideB, unlimited, fx.keys.prefixed]) {
      expect((await remove(scoped.token, victim.id)).status).toBe(403);
      expect(await works(victim)).toBe(true);
    }
    expect((await remove(scoped.token, mine.id)).status).toBe(204);
    expect(await works(mine)).toBe(false);
  });

  it('never reaches a device token through /v1/keys, not even as the admin', async () => {
    await fx.twin('a-device-not-a-key');
    const device = await fx.issue('a-device-not-a-key');
    const id = device.slice(4, device.indexOf('.'));
    expect((await remove(ADMIN, id)).status).toBe(404);
    expect((await remove(fx.keys.keysAdmin.token, id)).status).toBe(404);
    expect((await listAs(ADMIN)).map((k) => k.id)).not.toContain(id);
    expect((await fetch(`${fx.t.url}/v1/twins/a-device-not-a-key`, { headers: { authorization: `Bearer ${device}` } })).status).toBe(200);
  });
});
