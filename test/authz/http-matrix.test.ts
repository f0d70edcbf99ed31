/**
 * The HTTP authorization matrix: every /v1 route × every credential kind (see fixtures.ts). Each
 * cell asserts the status and code, the shape of an allowed reply (a write-only key gets only
 * {id, version}, a device token its device view), that a refusal leaks no twin data, and that a
 * refused write changed nothing (the admin's view before and after). The outcomes are written out
 * from CONTRACT §4–5 and the README's "Credentials" and "Choices" tables, not computed from the
 * server's authorization code; every cell has its own twin, so no cell sees another's writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN } from '../support/server.ts';
import { CREDS, MARK, TAG_MARK, expectNoTwinData, parseCell, setupFixture } from './fixtures.ts';
import type { Cred, Fixture, Key } from './fixtures.ts';

type Row = 'create' | 'get' | 'getFields' | 'getQueryToken' | 'patchDesired' | 'patchTags' | 'delete' | 'reported'
  | 'list' | 'history' | 'events' | 'eventsQuery' | 'token' | 'createKey' | 'listKeys' | 'deleteKey';

// A cell is the status, then the shape of the allowed reply:
//   twin: the whole twin, tags included     idv: only {id, version}       device: {version, desired, reported, delta}
//   fields: only the fields asked for       all / a-only / empty: a listing of every twin / of "a-" twins only / of none
//   history: the change events              stream: text/event-stream opening with the twin's snapshot
//   token: {token} of a device              key: the new key and its token (once)
//   keys: every key                         own-keys: only keys within the caller's reach (scopes it has, its prefix)
const TABLE: Record<Row, readonly string[]> = {
  //              none   unknown malformed device        otherDevice read             write      prefixA          prefixB      keysAdmin       admin
  create:        ['401', '401', '401',    '403',        '403',      '403',           '201 idv', '201 twin',      '403',       '403',          '201 twin'],
  get:           ['401', '401', '401',    '200 device', '403',      '200 twin',      '403',     '200 twin',      '403',       '403',          '200 twin'],
  getFields:     ['401', '401', '401',    '200 device', '403',      '200 fields',    '403',     '200 fields',    '403',       '403',          '200 fields'],
  getQueryToken: ['401', '401', '401',    '401',        '401',      '401',           '401',     '401',           '401',       '401',          '401'],
  patchDesired:  ['401', '401', '401',    '403',        '403',      '403',           '200 idv', '200 twin',      '403',       '403',          '200 twin'],
  patchTags:     ['401', '401', '401',    '403',        '403',      '403',           '200 idv', '200 twin',      '403',       '403',          '200 twin'],
  delete:        ['401', '401', '401',    '403',        '403',      '403',           '204',     '204',           '403',       '403',          '204'],
  reported:      ['401', '401', '401',    '200 device', '403',      '403',           '403',     '403',           '403',       '403',          '200 device'],
  list:          ['401', '401', '401',    '403',        '403',      '200 all',       '403',     '200 a-only',    '200 empty', '403',          '200 all'],
  history:       ['401', '401', '401',    '403',        '403',      '200 history',   '403',     '200 history',   '403',       '403',          '200 history'],
  events:        ['401', '401', '401',    '403',        '403',      '200 stream',    '403',     '200 stream',    '403',       '403',          '200 stream'],
  eventsQuery:   ['401', '401', '401',    '403',        '403',      '200 stream',    '403',     '200 stream',    '403',       '403',          '200 stream'],
  token:         ['401', '401', '401',    '403',        '403',      '403',           '201 token', '201 token',   '403',       '403',          '201 token'],
  createKey:     ['401', '401', '401',    '403',        '403',      '403',           '403',     '403',           '403',       '201 key',      '201 key'],
  listKeys:      ['401', '401', '401',    '403',        '403',      '403',           '403',     '403',           '403',       '200 own-keys', '200 keys'],
  deleteKey:     ['401', '401', '401',    '403',        '403',      '403',           '403',     '403',           '403',       '204',          '204'],
};

let fx: Fixture;
beforeAll(async () => {
  fx = await setupFixture();
  // Listings must have something on both sides of the prefix key's boundary.
  await fx.twin('a-fixture');
  await fx.twin('b-fixture');
});
afterAll(async () => { await fx?.stop(); });

interface Cell { cred: Cred; id: string; token: string | null; ctx: { current?: string; count?: number; victim?: Key; level?: number } }
interface Reply { status: number; type: string; text: string; headers: Headers }

async function send(method: string, path: string, opts: { token?: string | null; query?: boolean; body?: unknown } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  const token = opts.token ?? null;
  let url = `${fx.t.url}${path}`;
  if (token !== null && opts.query === true) url += `${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text(), headers: res.headers };
}

/** Opens an event stream, reads up to its first event and hangs up (the stream never ends by itself). */
async function firstEvent(path: string, token: string | null, query: boolean): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  let url = `${fx.t.url}${path}`;
  if (token !== null && query) url += `?access_token=${encodeURIComponent(token)}`;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const type = res.headers.get('content-type') ?? '';
  if (res.status !== 200) return { status: res.status, type, text: await res.text(), headers: res.headers };
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('\n\n')) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel().catch(() => {});
  abort.abort();
  return { status: 200, type, text, headers: res.headers };
}

const keyCount = async () => ((await (await fx.t.call('GET', '/v1/keys')).json()) as { items: unknown[] }).items.length;
const deviceRead = async (id: string, token: string) => (await send('GET', `/v1/twins/${id}`, { token })).status;

interface RowSpec {
  send(c: Cell): Promise<Reply>;
  /** Runs before the admin's "before" view is taken: tokens or keys the request or its check needs. */
  prepare?(c: Cell): Promise<void>;
  /** True when an allowed cell changes the twin, so its state is not compared with "before". */
  writes?: boolean;
  /** What an allowed request did, or what a refused one left in place, beyond the twin's state. */
  effect?(c: Cell, allowed: boolean, body: Record<string, unknown>): Promise<void>;
}

const marked = { note: `${MARK}-desired` };
const ROWS: Record<Row, RowSpec> = {
  create: {
    send: (c) => send('POST', '/v1/twins', { token: c.token, body: { id: `${c.id}-new`, desired: marked, tags: { note: TAG_MARK } } }),
    async effect(c, allowed) {
      const created = await fx.state(`${c.id}-new`);
      if (allowed) expect(created).toMatchObject({ version: 1, desired: marked });
      else expect(created).toBeNull();
    },
  },
  get: { send: (c) => send('GET', `/v1/twins/${c.id}`, { token: c.token }) },
  getFields: { send: (c) => send('GET', `/v1/twins/${c.id}?fields=tags`, { token: c.token }) },
  getQueryToken: { send: (c) => send('GET', `/v1/twins/${c.id}`, { token: c.token, query: true }) },
  patchDesired: {
    writes: true,
    prepare: async (c) => { c.ctx.level = Math.random(); },
    send: (c) => send('PATCH', `/v1/twins/${c.id}`, { token: c.token, body: { desired: { level: c.ctx.level } } }),
    async effect(c, allowed) {
      if (allowed) expect(await fx.state(c.id)).toMatchObject({ version: 3, desired: { level: c.ctx.level } });
    },
  },
  patchTags: {
    writes: true,
    prepare: async (c) => { c.ctx.level = Math.random(); },
    send: (c) => send('PATCH', `/v1/twins/${c.id}`, { token: c.token, body: { tags: { level: c.ctx.level } } }),
    async effect(c, allowed) {
      if (allowed) expect(await fx.state(c.id)).toMatchObject({ version: 3, tags: { level: c.ctx.level } });
    },
  },
  delete: {
    writes: true,
    send: (c) => send('DELETE', `/v1/twins/${c.id}`, { token: c.token }),
    async effect(c, allowed) { if (allowed) expect(await fx.state(c.id)).toBeNull(); },
  },
  reported: {
    writes: true,
    prepare: async (c) => { c.ctx.level = Math.random(); },
    send: (c) => send('PATCH', `/v1/twins/${c.id}/reported`, { token: c.token, body: { level: c.ctx.level } }),
    async effect(c, allowed) {
      if (!allowed) return;
      expect(await fx.state(c.id)).toMatchObject({ version: 3, reported: { level: c.ctx.level } });
      // The admin writing reported is operations, not the device: it is no device contact.
      const { connection } = await fx.adminTwin(c.id);
      expect(connection).toMatchObject({ online: c.cred === 'device' });
    },
  },
  list: { send: (c) => send('GET', c.cred === 'prefixB' ? '/v1/twins?prefix=b-&limit=1000' : '/v1/twins?limit=1000', { token: c.token }) },
  history: { send: (c) => send('GET', `/v1/twins/${c.id}/history`, { token: c.token }) },
  events: { send: (c) => firstEvent(`/v1/twins/${c.id}/events`, c.token, false) },
  eventsQuery: { send: (c) => firstEvent(`/v1/twins/${c.id}/events`, c.token, true) },
  token: {
    // The token in force before the request: the cell's own when it is the device, else a fresh one.
    prepare: async (c) => { c.ctx.current = c.cred === 'device' ? c.token! : await fx.issue(c.id); },
    send: (c) => send('POST', `/v1/twins/${c.id}/token`, { token: c.token }),
    async effect(c, allowed, body) {
      expect(await deviceRead(c.id, c.ctx.current!)).toBe(allowed ? 401 : 200);
      if (allowed) expect(await deviceRead(c.id, body.token as string)).toBe(200);
    },
  },
  createKey: {
    prepare: async (c) => { c.ctx.count = await keyCount(); },
    send: (c) => send('POST', '/v1/keys', { token: c.token, body: { name: 'made-in-a-cell', scopes: ['keys:admin'] } }),
    async effect(c, allowed, body) {
      expect(await keyCount()).toBe(c.ctx.count! + (allowed ? 1 : 0));
      if (allowed) expect((await send('GET', '/v1/keys', { token: body.token as string })).status).toBe(200);
    },
  },
  listKeys: { send: (c) => send('GET', '/v1/keys', { token: c.token }) },
  deleteKey: {
    // The victim is within every keys:admin key's reach: same scope, no prefix.
    prepare: async (c) => { c.ctx.victim = (await (await fx.t.call('POST', '/v1/keys', { body: { scopes: ['keys:admin'] } })).json()) as Key; },
    send: (c) => send('DELETE', `/v1/keys/${c.ctx.victim!.id}`, { token: c.token }),
    async effect(c, allowed) {
      expect((await send('GET', '/v1/keys', { token: c.ctx.victim!.token })).status).toBe(allowed ? 401 : 200);
    },
  },
};

const TWIN_FIELDS = ['connection', 'createdAt', 'delta', 'desired', 'id', 'metadata', 'reported', 'sync', 'tags', 'updatedAt', 'version'];
const KEY_FIELDS = ['createdAt', 'id', 'name', 'prefix', 'scopes'];
type Body = Record<string, unknown> & { items?: Array<Record<string, unknown>> };
const ids = (b: Body) => (b.items ?? []).map((i) => i.id as string);

/** Checks of an allowed reply, by the shape named in its cell. */
const SHAPES: Record<string, (b: Body, r: Reply, c: Cell, row: Row) => void> = {
  twin(b, r) {
    expect(Object.keys(b).sort()).toEqual(TWIN_FIELDS);
    expect(r.text).toContain(TAG_MARK);
  },
  idv(b, r, c, row) {
    expect(b).toEqual({ id: row === 'create' ? `${c.id}-new` : c.id, version: expect.any(Number) });
  },
  device(b, r) {
    expect(Object.keys(b).sort()).toEqual(['delta', 'desired', 'reported', 'version']);
    expect(r.text).not.toContain(TAG_MARK);
  },
  fields: (b) => expect(b).toEqual({ tags: { note: TAG_MARK } }),
  all(b, r, c) {
    expect(ids(b)).toContain(c.id);
    expect(ids(b)).toContain('b-fixture');
  },
  'a-only'(b, r, c) {
    expect(ids(b)).toContain(c.id);
    for (const id of ids(b)) expect(id.startsWith('a-'), id).toBe(true);
  },
  empty: (b) => expect(b).toEqual({ items: [], next: null }),
  history(b, r, c) {
    expect(b.items!.map((e) => [e.twin, e.version])).toEqual([[c.id, 1], [c.id, 2]]);
  },
  stream(b, r, c) {
    expect(r.type).toMatch(/^text\/event-stream/);
    expect(r.text).toMatch(/^event: snapshot$/m);
    expect(r.text).toContain(`"id":"${c.id}"`);
    expect(r.text).toContain(TAG_MARK);
  },
  token(b) {
    expect(Object.keys(b)).toEqual(['token']);
    expect(b.token).toMatch(/^dpd_/);
  },
  key(b) {
    expect(Object.keys(b).sort()).toEqual([...KEY_FIELDS, 'token'].sort());
    expect(b.token).toMatch(/^dpk_/);
  },
  keys(b) {
    for (const item of b.items!) expect(Object.keys(item).sort()).toEqual(KEY_FIELDS);
    for (const k of Object.values(fx.keys)) expect(ids(b)).toContain(k.id);
  },
  'own-keys'(b) {
    for (const item of b.items!) {
      expect(Object.keys(item).sort()).toEqual(KEY_FIELDS);
      expect(item.scopes, 'a keys:admin key sees only keys with scopes it has').toEqual(['keys:admin']);
    }
    expect(ids(b)).toContain(fx.keys.keysAdmin.id);
  },
  '': (b, r) => expect(r.text).toBe(''),
};

describe('HTTP: every route × every credential', () => {
  for (const [row, cells] of Object.entries(TABLE) as Array<[Row, readonly string[]]>) {
    for (const [i, cred] of CREDS.entries()) {
      const cell = cells[i]!;
      it(`${row} × ${cred} → ${cell}`, async () => {
        const spec = ROWS[row];
        const { status, shape } = parseCell(cell);
        const id = fx.target(cred, `${row}-${cred}`);
        await fx.twin(id);
        const c: Cell = { cred, id, token: await fx.token(cred, id), ctx: {} };
        await spec.prepare?.(c);
        const before = await fx.state(id);

        const reply = await spec.send(c);
        expect(reply.status, reply.text.slice(0, 300)).toBe(Number(status));
        const allowed = reply.status < 300;
        let body: Body = {};
        if (allowed) {
          if (reply.type.startsWith('application/json')) body = JSON.parse(reply.text) as Body;
          SHAPES[shape]!(body, reply, c, row);
        } else {
          expect(reply.type).toMatch(/^application\/problem\+json/);
          expect(JSON.parse(reply.text)).toMatchObject({ status: reply.status, code: reply.status === 401 ? 'unauthorized' : 'forbidden' });
          if (reply.status === 401) expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
          expectNoTwinData(reply.text, `${row} × ${cred}`);
        }
        if (!allowed || spec.writes !== true) expect(await fx.state(id), 'the twin is unchanged').toEqual(before);
        await spec.effect?.(c, allowed, body);
      });
    }
  }
});

describe('HTTP: the token travels in the Authorization header', () => {
  it('refuses malformed Authorization headers with 401, and takes the scheme in any case', async () => {
    for (const value of ['Basic YWRtaW46YWRtaW4=', 'Bearer', `Bearer ${ADMIN} extra`, ADMIN, `Token ${ADMIN}`]) {
      const res = await fetch(`${fx.t.url}/v1/twins/a-fixture`, { headers: { authorization: value } });
      const text = await res.text();
      expect(res.status, value).toBe(401);
      expectNoTwinData(text, value);
    }
    expect((await fetch(`${fx.t.url}/v1/twins/a-fixture`, { headers: { authorization: `bearer ${ADMIN}` } })).status).toBe(200);
  });
});
