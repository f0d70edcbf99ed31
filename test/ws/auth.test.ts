/**
 * Credentials on the WebSocket edge (CONTRACT §4, §7): checked on the handshake, so a missing or
 * bad one is an HTTP 401 problem and a rate-limited one a 429 before any upgrade; scopes and id
 * prefixes are enforced per op with `forbidden` replies; a revoked key ends the session.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { ADMIN, startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect, createKey, createTwin, deviceToken, expectJson, handshake, isSnapshotOf, wsUrl } from './helpers.ts';
import type { Client } from './helpers.ts';

let t: TestServer;
const clients: Client[] = [];
const open = async (token: string, opts: { query?: boolean } = {}): Promise<Client> => {
  const c = await connect(t, token, opts);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  t = await startTestServer(['--key-rate', '1', '--key-burst', '8']);
  for (const id of ['a-1', 'a-2', 'b-1']) await createTwin(t, id, { desired: { on: true } });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

describe('the handshake', () => {
  it('is refused with a 401 problem when no credential is given', async () => {
    const res = await handshake(wsUrl(t));
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'unauthorized', status: 401, type: 'urn:doppel:problem:unauthorized' });
  });

  it('is refused with 401 for an unknown bearer token and for an unknown access_token', async () => {
    expect((await handshake(wsUrl(t), { authorization: 'Bearer nope-not-a-token' })).status).toBe(401);
    expect((await handshake(wsUrl(t, '?access_token=dpk_x.y'))).status).toBe(401);
    expect((await handshake(wsUrl(t), { authorization: 'Basic Zm9vOmJhcg==' })).status).toBe(401);
  });

  it('accepts the token as ?access_token= for browsers', async () => {
    const c = await open(ADMIN, { query: true });
    expect(await c.request({ op: 'get', twin: 'a-1' })).toMatchObject({ op: 'twin', twin: { id: 'a-1' } });
  });

  it('is refused with 429 and Retry-After once the key is over its rate', async () => {
    const key = await createKey(t, { scopes: ['twins:read'] });
    let refused: Awaited<ReturnType<typeof handshake>> | null = null;
    // Burst 8 at 1/s: a dozen handshakes in a row exhaust it.
    for (let i = 0; i < 12 && refused === null; i++) {
      const answer = await handshake(wsUrl(t), { authorization: `Bearer ${key}` });
      if (answer.status !== 101) refused = answer;
    }
    expect(refused).not.toBeNull();
    expect(refused!.status).toBe(429);
    expect(refused!.headers['retry-after']).toMatch(/^\d+$/);
    expect(JSON.parse(refused!.body)).toMatchObject({ code: 'rate_limited' });
  });
});

describe('app sessions enforce scopes and prefixes per op', () => {
  it('a read-only key may subscribe and get but not patch', async () => {
    const c = await open(await createKey(t, { scopes: ['twins:read'] }));
    expect(await c.request({ op: 'subscribe', twins: ['a-1'] })).toMatchObject({ op: 'subscribed' });
    await c.next(isSnapshotOf('a-1'));
    const refused = await c.request({ op: 'patch', twin: 'a-1', desired: { on: false } });
    expect(refused).toMatchObject({ op: 'error', code: 'forbidden', message: 'Forbidden: this key lacks the "twins:write" scope' });
    expect(await c.request({ op: 'report', twin: 'a-1', reported: { on: true } })).toMatchObject({ op: 'error', code: 'forbidden' });
  });

  it('a key without twins:read may not subscribe or get', async () => {
    const c = await open(await createKey(t, { scopes: ['keys:admin'] }));
    expect(await c.request({ op: 'subscribe', twins: ['a-1'] })).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.request({ op: 'subscribe', prefix: '' })).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.request({ op: 'get', twin: 'a-1' })).toMatchObject({ op: 'error', code: 'forbidden' });
  });

  it('a prefix-limited key is refused a twin outside its prefix for the whole request', async () => {
    const c = await open(await createKey(t, { scopes: ['twins:read', 'twins:write'], prefix: 'a-' }));
    const refused = await c.request({ op: 'subscribe', twins: ['a-1', 'b-1'] });
    expect(refused).toMatchObject({ op: 'error', code: 'forbidden', details: { twin: 'b-1' } });
    expect(await c.request({ op: 'patch', twin: 'b-1', desired: { on: false } })).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.request({ op: 'patch', twin: 'a-1', desired: { on: false } })).toMatchObject({ op: 'ok' });
    // Nothing was subscribed by the refused request.
    expect(c.pending().filter((m) => m.op === 'snapshot')).toEqual([]);
  });

  it('a prefix-limited key subscribing to a wider prefix gets its own prefix; a disjoint one is forbidden', async () => {
    const c = await open(await createKey(t, { scopes: ['twins:read'], prefix: 'a-' }));
    expect(await c.request({ op: 'subscribe', prefix: 'b-' })).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.request({ op: 'subscribe', prefix: '' })).toMatchObject({ op: 'subscribed' });
    const snaps = await c.take(2, (m) => m.op === 'snapshot');
    expect(snaps.map((m) => (m.twin as { id: string }).id)).toEqual(['a-1', 'a-2']);
    await createTwin(t, 'b-2');
    await createTwin(t, 'a-3');
    expect(await c.next((m) => m.op === 'snapshot')).toMatchObject({ twin: { id: 'a-3' } });
    expect(c.pending()).toEqual([]);
  });

  it('a revoked key has its open connection closed with 4401 at once, even while silent', async () => {
    const res = await t.call('POST', '/v1/keys', { body: { scopes: ['twins:read'] } });
    const { id, token } = await expectJson<{ id: string; token: string }>(res, 201);
    const c = await open(token);
    expect(await c.request({ op: 'get', twin: 'a-1' })).toMatchObject({ op: 'twin' });
    expect((await t.call('DELETE', `/v1/keys/${id}`)).status).toBe(204);
    expect(await c.closed).toEqual({ code: 4401, reason: 'unauthorized' });
  });

  it('a rotated device token has its device session closed with 4401 at once', async () => {
    const old = await deviceToken(t, 'a-2');
    const c = await open(old);
    expect(await c.next()).toMatchObject({ op: 'delta', twin: 'a-2' });
    await deviceToken(t, 'a-2');
    expect(await c.closed).toEqual({ code: 4401, reason: 'unauthorized' });
  });
});

describe('device tokens', () => {
  it('open a device session on their own twin only: other ops are forbidden', async () => {
    const c = await open(await deviceToken(t, 'a-2'));
    expect(await c.next()).toMatchObject({ op: 'delta', twin: 'a-2' });
    expect(await c.request({ op: 'subscribe', twins: ['a-2'] })).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.request({ op: 'patch', twin: 'a-2', desired: { on: false } })).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.request({ op: 'get', twin: 'a-1' })).toMatchObject({ op: 'error', code: 'forbidden', message: 'Forbidden: this device token belongs to another twin' });
    expect(await c.request({ op: 'report', twin: 'b-1', reported: { on: true } })).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await c.request({ op: 'get' })).toMatchObject({ op: 'twin', twin: { version: expect.any(Number), desired: { on: true } } });
  });

  it('stop working on the handshake once rotated', async () => {
    const old = await deviceToken(t, 'a-1');
    await deviceToken(t, 'a-1');
    expect((await handshake(wsUrl(t), { authorization: `Bearer ${old}` })).status).toBe(401);
  });
});
