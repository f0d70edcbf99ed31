/**
 * The twin API over real HTTP (CONTRACT §1, §2, §5): create, read, merge-patch, optimistic
 * concurrency, delete, listing, history, clientToken, metadata and sync state.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import {
  createTwin, deviceToken, expectJson, expectProblem, getTwin, history, patchTwin, snapshotOf,
} from './helpers.ts';
import type { Json } from './helpers.ts';

let t: TestServer;

beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.stop(); });

interface Twin {
  id: string; version: number; desired: Json; reported: Json; delta: Json; tags: Json;
  metadata: { desired: Json; reported: Json };
  sync: { inSync: boolean; pendingSince?: string };
  connection: { online: boolean; via: string | null; lastSeenAt: string | null };
  createdAt: string; updatedAt: string; clientToken?: string;
}

const twin = async (id: string) => (await getTwin(t, id)) as unknown as Twin;
const patch = async (id: string, body: Json, headers: Record<string, string> = {}) => (await patchTwin(t, id, body, headers)) as unknown as Twin;
const report = async (id: string, reported: Json, token?: string) =>
  expectJson<{ version: number; desired: Json; reported: Json; delta: Json }>(await t.call('PATCH', `/v1/twins/${id}/reported`, { body: reported, ...(token === undefined ? {} : { token }) }), 200);

describe('POST /v1/twins', () => {
  it('creates a twin at version 1 with Location, ETag and the whole twin in the body', async () => {
    const res = await t.call('POST', '/v1/twins', { body: { id: 'thermo-42', desired: { temp: 21, mode: 'eco' }, tags: { site: 'berlin' } } });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/v1/twins/thermo-42');
    expect(res.headers.get('etag')).toBe('"1"');
    const body = await res.json() as Twin;
    const at = body.createdAt;
    expect(Number.isNaN(Date.parse(at))).toBe(false);
    expect(body).toEqual({
      id: 'thermo-42',
      version: 1,
      desired: { temp: 21, mode: 'eco' },
      reported: {},
      delta: { temp: 21, mode: 'eco' },
      tags: { site: 'berlin' },
      metadata: { desired: { temp: { updatedAt: at }, mode: { updatedAt: at } }, reported: {} },
      sync: { inSync: false, pendingSince: at },
      connection: { online: false, via: null, lastSeenAt: null },
      createdAt: at,
      updatedAt: at,
    });
    // The Location names a twin that reads back the same.
    expect(await expectJson(await t.call('GET', res.headers.get('location')!), 200)).toEqual(body);
  });

  it('creates a twin without desired or tags as empty and in sync', async () => {
    const body = await createTwin(t, 'bare-1') as unknown as Twin;
    expect(body).toMatchObject({ version: 1, desired: {}, reported: {}, delta: {}, tags: {}, metadata: { desired: {}, reported: {} } });
    expect(body.sync).toEqual({ inSync: true });
  });

  it('accepts ids at the edges of the id grammar', async () => {
    for (const id of ['9', 'A.b_c:d-e', `x${'y'.repeat(127)}`]) {
      const res = await t.call('POST', '/v1/twins', { body: { id } });
      expect(res.status, id).toBe(201);
      expect(res.headers.get('location')).toBe(`/v1/twins/${encodeURIComponent(id)}`);
      expect((await twin(id)).id).toBe(id);
    }
  });

  it('creates a twin once when several clients create the same id at the same time', async () => {
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => t.call('POST', '/v1/twins', { body: { id: 'race-create', desired: { by: i } } })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    const created = await replies.find((r) => r.status === 201)!.json() as Twin;
    for (const r of replies) if (r.status !== 201) expect(((await r.json()) as { code: string }).code).toBe('already_exists');
    expect(await twin('race-create')).toEqual(created);
    expect((await history(t, 'race-create')).items).toHaveLength(1);
  });

  it('refuses to create an existing id with 409 already_exists and leaves the twin unchanged', async () => {
    await createTwin(t, 'dup-1', { desired: { a: 1 } });
    const before = await snapshotOf(t, 'dup-1');
    await expectProblem(await t.call('POST', '/v1/twins', { body: { id: 'dup-1', desired: { a: 2 } } }), 409, 'already_exists');
    expect(await snapshotOf(t, 'dup-1')).toEqual(before);
  });
});

describe('GET /v1/twins/{id}', () => {
  beforeAll(async () => { await createTwin(t, 'get-1', { desired: { temp: 21, room: { name: 'lab', floor: 2 } }, tags: { site: 'paris' } }); });

  it('answers the twin with ETag and 304 Not Modified for a matching If-None-Match', async () => {
    const res = await t.call('GET', '/v1/twins/get-1');
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-request-id')).toMatch(/\S/);
    expect(((await res.json()) as Twin).version).toBe(1);

    for (const tag of ['"1"', 'W/"1"', '"7", "1"', '*']) {
      const hit = await t.call('GET', '/v1/twins/get-1', { headers: { 'if-none-match': tag } });
      expect(hit.status, tag).toBe(304);
      expect(hit.headers.get('etag')).toBe('"1"');
      expect(await hit.text()).toBe('');
    }
    const miss = await t.call('GET', '/v1/twins/get-1', { headers: { 'if-none-match': '"2"' } });
    expect(miss.status).toBe(200);
    expect(((await miss.json()) as Twin).version).toBe(1);
  });

  it('answers 200 with the new ETag once the twin has changed since the If-None-Match version', async () => {
    await createTwin(t, 'get-2', { desired: { a: 1 } });
    await patch('get-2', { desired: { a: 2 } });
    const res = await t.call('GET', '/v1/twins/get-2', { headers: { 'if-none-match': '"1"' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(((await res.json()) as Twin).desired).toEqual({ a: 2 });
  });

  it('answers 404 not_found for a twin that does not exist', async () => {
    await expectProblem(await t.call('GET', '/v1/twins/nobody-here'), 404, 'not_found');
  });

  it('with fields answers exactly the selected fields', async () => {
    expect(await expectJson(await t.call('GET', '/v1/twins/get-1?fields=desired,delta'), 200))
      .toEqual({ desired: { temp: 21, room: { name: 'lab', floor: 2 } }, delta: { temp: 21, room: { name: 'lab', floor: 2 } } });
    expect(await expectJson(await t.call('GET', '/v1/twins/get-1?fields=version'), 200)).toEqual({ version: 1 });
  });

  it('with dot paths in fields answers only the selected leaves, nested as in the twin', async () => {
    expect(await expectJson(await t.call('GET', '/v1/twins/get-1?fields=version,desired.room.name,tags.site'), 200))
      .toEqual({ version: 1, desired: { room: { name: 'lab' } }, tags: { site: 'paris' } });
    expect(await expectJson(await t.call('GET', '/v1/twins/get-1?fields=sync.inSync'), 200)).toEqual({ sync: { inSync: false } });
    // A path that does not exist selects nothing.
    expect(await expectJson(await t.call('GET', '/v1/twins/get-1?fields=desired.nothing'), 200)).toEqual({});
  });

  it('with an unknown field answers 400 invalid_request', async () => {
    const p = await expectProblem(await t.call('GET', '/v1/twins/get-1?fields=desired,bogus'), 400, 'invalid_request');
    expect(p.detail).toContain('bogus');
    await expectProblem(await t.call('GET', '/v1/twins/get-1?fields=desired..temp'), 400, 'invalid_request');
  });
});

describe('PATCH /v1/twins/{id}', () => {
  it('merges desired as JSON Merge Patch: objects merge, null deletes, arrays replace whole', async () => {
    await createTwin(t, 'merge-1', { desired: { temp: 21, mode: 'eco', room: { name: 'lab', floor: 2 }, list: [1, 2, 3] } });
    const res = await t.call('PATCH', '/v1/twins/merge-1', { body: { desired: { temp: 22, mode: null, room: { floor: null, wing: 'east' }, list: [9], gone: null } } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    const body = await res.json() as Twin;
    expect(body.version).toBe(2);
    expect(body.desired).toEqual({ temp: 22, room: { name: 'lab', wing: 'east' }, list: [9] });
    expect(body.delta).toEqual(body.desired);
    // Metadata mirrors desired leaf by leaf: deleted leaves go, new ones appear.
    expect(Object.keys(body.metadata.desired).sort()).toEqual(['list', 'room', 'temp']);
    expect(Object.keys(body.metadata.desired.room as Json).sort()).toEqual(['name', 'wing']);
    expect(await twin('merge-1')).toEqual(body);
  });

  it('accepts application/merge-patch+json as well as JSON', async () => {
    await createTwin(t, 'merge-2', { desired: { a: 1 } });
    const res = await t.call('PATCH', '/v1/twins/merge-2', { raw: '{"desired":{"b":2}}', headers: { 'content-type': 'application/merge-patch+json' } });
    expect(((await expectJson(res, 200)) as unknown as Twin).desired).toEqual({ a: 1, b: 2 });
  });

  it('merges tags without touching desired or delta, and tags: null clears them', async () => {
    await createTwin(t, 'tags-1', { desired: { a: 1 }, tags: { site: 'berlin', floor: 3 } });
    const after = await patch('tags-1', { tags: { floor: null, owner: 'ops' } });
    expect(after).toMatchObject({ version: 2, tags: { site: 'berlin', owner: 'ops' }, desired: { a: 1 }, delta: { a: 1 } });
    const cleared = await patch('tags-1', { tags: null });
    expect(cleared).toMatchObject({ version: 3, tags: {}, desired: { a: 1 } });
    const { items } = await history(t, 'tags-1');
    expect(items.map((e) => e.patch)).toEqual([
      { desired: { a: 1 }, tags: { site: 'berlin', floor: 3 } },
      { tags: { floor: null, owner: 'ops' } },
      { tags: { site: null, owner: null } },
    ]);
  });

  it('applies a patch whose If-Match names the current version', async () => {
    await createTwin(t, 'ifm-1', { desired: { a: 1 } });
    const res = await t.call('PATCH', '/v1/twins/ifm-1', { body: { desired: { a: 2 } }, headers: { 'if-match': '"1"' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
  });

  it('refuses a stale If-Match with 412 version_conflict and changes nothing', async () => {
    await createTwin(t, 'ifm-2', { desired: { a: 1 } });
    await patch('ifm-2', { desired: { a: 2 } });
    const before = await snapshotOf(t, 'ifm-2');
    const p = await expectProblem(await t.call('PATCH', '/v1/twins/ifm-2', { body: { desired: { a: 3 }, tags: { x: 1 } }, headers: { 'if-match': '"1"' } }), 412, 'version_conflict');
    expect(p.details).toEqual({ expected: 1, actual: 2 });
    // A conditional no-op is refused too: the condition is checked before anything else.
    await expectProblem(await t.call('PATCH', '/v1/twins/ifm-2', { body: {}, headers: { 'if-match': '"3"' } }), 412, 'version_conflict');
    expect(await snapshotOf(t, 'ifm-2')).toEqual(before);
  });

  it('lets exactly one of several concurrent patches with the same If-Match win', async () => {
    await createTwin(t, 'race-1', { desired: { n: 0 } });
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      t.call('PATCH', '/v1/twins/race-1', { body: { desired: { n: i + 1 } }, headers: { 'if-match': '"1"' } })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
    const winner = replies.find((r) => r.status === 200)!;
    const won = await winner.json() as Twin;
    for (const r of replies) if (r !== winner) await r.body?.cancel();
    expect(won.version).toBe(2);
    expect(await twin('race-1')).toMatchObject({ version: 2, desired: won.desired });
    expect((await history(t, 'race-1')).items).toHaveLength(2);
  });

  it('refuses a malformed If-Match with 400 invalid_request', async () => {
    await createTwin(t, 'ifm-3');
    await expectProblem(await t.call('PATCH', '/v1/twins/ifm-3', { body: { desired: { a: 1 } }, headers: { 'if-match': 'yesterday' } }), 400, 'invalid_request');
    expect((await twin('ifm-3')).version).toBe(1);
  });

  it('answers a patch that changes nothing with the current version and records no event', async () => {
    await createTwin(t, 'noop-1', { desired: { a: 1, o: { b: [1, 2] } }, tags: { s: 'x' } });
    const before = await twin('noop-1');
    for (const body of [{}, { desired: { a: 1 } }, { desired: { o: { b: [1, 2] } }, tags: { s: 'x' } }, { desired: { missing: null } }, { desired: {} }]) {
      const res = await t.call('PATCH', '/v1/twins/noop-1', { body });
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.headers.get('etag')).toBe('"1"');
      expect(await res.json()).toEqual(before);
    }
    expect(await twin('noop-1')).toEqual(before);
    expect((await history(t, 'noop-1')).items).toHaveLength(1);
  });

  it('clears desired with desired: null, recording the deletions in the event', async () => {
    await createTwin(t, 'clear-1', { desired: { a: 1, b: { c: 2 } } });
    const after = await patch('clear-1', { desired: null });
    expect(after).toMatchObject({ version: 2, desired: {}, delta: {}, sync: { inSync: true }, metadata: { desired: {} } });
    expect(after.sync.pendingSince).toBeUndefined();
    const { items } = await history(t, 'clear-1');
    expect(items[1]!.patch).toEqual({ desired: { a: null, b: null } });
    // Clearing what is already empty is a no-op.
    expect((await patch('clear-1', { desired: null })).version).toBe(2);
  });

  it('answers 404 not_found for a patch of a missing twin, with or without If-Match', async () => {
    await expectProblem(await t.call('PATCH', '/v1/twins/missing-1', { body: { desired: { a: 1 } } }), 404, 'not_found');
    await expectProblem(await t.call('PATCH', '/v1/twins/missing-1', { body: { desired: { a: 1 } }, headers: { 'if-match': '"1"' } }), 404, 'not_found');
    await expectProblem(await t.call('GET', '/v1/twins/missing-1'), 404, 'not_found');
  });
});

describe('DELETE /v1/twins/{id}', () => {
  it('honours If-Match: a stale version is 412 and the twin stays, the current one deletes', async () => {
    await createTwin(t, 'del-im', { desired: { a: 1 } });
    await patch('del-im', { desired: { a: 2 } });
    await expectProblem(await t.call('DELETE', '/v1/twins/del-im', { headers: { 'if-match': '"1"' } }), 412, 'version_conflict');
    expect((await twin('del-im')).version).toBe(2);
    expect((await t.call('DELETE', '/v1/twins/del-im', { headers: { 'if-match': '"2"' } })).status).toBe(204);
  });

  it('deletes with 204, after which the twin and its history answer 404', async () => {
    await createTwin(t, 'del-1', { desired: { a: 1 } });
    await patch('del-1', { desired: { a: 2 } });
    const res = await t.call('DELETE', '/v1/twins/del-1');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    await expectProblem(await t.call('GET', '/v1/twins/del-1'), 404, 'not_found');
    await expectProblem(await t.call('GET', '/v1/twins/del-1/history'), 404, 'not_found');
    await expectProblem(await t.call('PATCH', '/v1/twins/del-1', { body: { desired: { a: 3 } } }), 404, 'not_found');
    await expectProblem(await t.call('DELETE', '/v1/twins/del-1'), 404, 'not_found');
    await expectProblem(await t.call('POST', '/v1/twins/del-1/token'), 404, 'not_found');
  });

  it('lets the id be created again at version 1 with a fresh history, and the old device token no longer works', async () => {
    await createTwin(t, 'reborn-1', { desired: { old: true } });
    await patch('reborn-1', { desired: { n: 1 } });
    await patch('reborn-1', { desired: { n: 2 } });
    const oldToken = await deviceToken(t, 'reborn-1');
    expect((await t.call('GET', '/v1/twins/reborn-1', { token: oldToken })).status).toBe(200);
    expect((await t.call('DELETE', '/v1/twins/reborn-1')).status).toBe(204);

    const created = await createTwin(t, 'reborn-1', { desired: { fresh: 1 } }) as unknown as Twin;
    expect(created.version).toBe(1);
    expect(created.desired).toEqual({ fresh: 1 });
    const { items, next } = await history(t, 'reborn-1');
    expect(next).toBeNull();
    expect(items.map((e) => [e.version, e.patch])).toEqual([[1, { desired: { fresh: 1 } }]]);

    await expectProblem(await t.call('GET', '/v1/twins/reborn-1', { token: oldToken }), 401, 'unauthorized');
    await expectProblem(await t.call('PATCH', '/v1/twins/reborn-1/reported', { token: oldToken, body: { x: 1 } }), 401, 'unauthorized');
    expect((await twin('reborn-1')).version).toBe(1);
    // A new token works.
    const newToken = await deviceToken(t, 'reborn-1');
    expect((await report('reborn-1', { fresh: 1 }, newToken)).delta).toEqual({});
  });
});

describe('GET /v1/twins (listing)', () => {
  const N = 25;
  const ids = Array.from({ length: N }, (_, i) => `page-${String(i + 1).padStart(2, '0')}`);

  beforeAll(async () => {
    // Created out of order, so id order cannot come from insertion order.
    const order = [...ids].sort((a, b) => (a.split('').reverse().join('') < b.split('').reverse().join('') ? -1 : 1));
    await Promise.all(order.map((id) => {
      const n = Number(id.slice(5));
      return createTwin(t, id, { desired: { temp: n }, tags: { site: n % 2 === 1 ? 'berlin' : 'paris' } });
    }));
    // The first five have converged.
    for (const id of ids.slice(0, 5)) await report(id, { temp: Number(id.slice(5)) });
  });

  async function listAll(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
    const out: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q = `${query}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page: { items: Twin[]; next: string | null } = await expectJson(await t.call('GET', `/v1/twins?${q}`), 200);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      out.push(...page.items.map((i) => i.id));
      cursor = page.next;
      pages++;
      expect(pages).toBeLessThan(100);
    } while (cursor !== null);
    return { ids: out, pages };
  }

  it('pages through 25 twins in id order with an opaque cursor, next null on the last page', async () => {
    const first: { items: Twin[]; next: string | null } = await expectJson(await t.call('GET', '/v1/twins?prefix=page-&limit=10'), 200);
    expect(first.items.map((i) => i.id)).toEqual(ids.slice(0, 10));
    expect(typeof first.next).toBe('string');
    expect(first.next).not.toContain('page-');
    // Items are whole twins.
    expect(first.items[0]).toEqual(await twin('page-01'));

    const second: { items: Twin[]; next: string | null } = await expectJson(await t.call('GET', `/v1/twins?prefix=page-&limit=10&cursor=${encodeURIComponent(first.next!)}`), 200);
    expect(second.items.map((i) => i.id)).toEqual(ids.slice(10, 20));
    const third: { items: Twin[]; next: string | null } = await expectJson(await t.call('GET', `/v1/twins?prefix=page-&limit=10&cursor=${encodeURIComponent(second.next!)}`), 200);
    expect(third.items.map((i) => i.id)).toEqual(ids.slice(20));
    expect(third.next).toBeNull();
  });

  it('answers every twin exactly once in id order whatever the page size', async () => {
    for (const limit of [1, 7, 25, 1000]) {
      const { ids: seen } = await listAll('prefix=page-', limit);
      expect(seen, `limit ${limit}`).toEqual(ids);
    }
  });

  it('lists all twins in id order without a prefix', async () => {
    const { ids: all } = await listAll('x=1', 1000);
    expect(all).toEqual([...all].sort());
    for (const id of ids) expect(all).toContain(id);
  });

  it('restricts the listing to ids with the given prefix', async () => {
    const { ids: tens } = await listAll('prefix=page-1', 4);
    expect(tens).toEqual(ids.slice(9, 19));
    expect(await expectJson(await t.call('GET', '/v1/twins?prefix=nothing-here'), 200)).toEqual({ items: [], next: null });
  });

  it('filters with a query expression, across pages', async () => {
    const cases: Array<[string, string[]]> = [
      ['tags.site == "berlin" and sync.inSync == false', ids.filter((_, i) => (i + 1) % 2 === 1 && i + 1 > 5)],
      ['desired.temp > 20', ids.slice(20)],
      ['exists(reported.temp)', ids.slice(0, 5)],
      ['id ~ "page-2*"', ids.slice(19)],
      ['not (desired.temp >= 3) or delta.temp == 25', ['page-01', 'page-02', 'page-25']],
    ];
    for (const [filter, expected] of cases) {
      for (const limit of [3, 100]) {
        const { ids: got } = await listAll(`prefix=page-&filter=${encodeURIComponent(filter)}`, limit);
        expect(got, `${filter} (limit ${limit})`).toEqual(expected);
      }
    }
  });

  it('refuses a malformed filter with 400 invalid_request and the position of the error', async () => {
    const p = await expectProblem(await t.call('GET', `/v1/twins?filter=${encodeURIComponent('desired.temp > > 3')}`), 400, 'invalid_request');
    expect(p.details?.position).toBe(16);
    expect(p.detail).toContain('at 16');
    const end = await expectProblem(await t.call('GET', `/v1/twins?filter=${encodeURIComponent('desired.temp >')}`), 400, 'invalid_request');
    expect(end.details?.position).toBe(15);
    const bare = await expectProblem(await t.call('GET', `/v1/twins?filter=${encodeURIComponent('tags.site == berlin')}`), 400, 'invalid_request');
    expect(typeof bare.details?.position).toBe('number');
  });

  it('refuses a bad cursor or an out-of-range limit with 400 invalid_request', async () => {
    await expectProblem(await t.call('GET', '/v1/twins?cursor=%25%25not-a-cursor'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins?limit=0'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins?limit=1001'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins?limit=ten'), 400, 'invalid_request');
  });
});

describe('GET /v1/twins/{id}/history', () => {
  beforeAll(async () => {
    await createTwin(t, 'hist-1', { desired: { n: 0 } });
    for (let n = 1; n <= 11; n++) await patch('hist-1', { desired: { n } });
  });

  it('pages with since, limit and next, oldest first, next null when none is left', async () => {
    const p1 = await history(t, 'hist-1', 0, 5);
    expect(p1.items.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
    expect(p1.next).toBe(5);
    const p2 = await history(t, 'hist-1', p1.next!, 5);
    expect(p2.items.map((e) => e.version)).toEqual([6, 7, 8, 9, 10]);
    expect(p2.next).toBe(10);
    const p3 = await history(t, 'hist-1', p2.next!, 5);
    expect(p3.items.map((e) => e.version)).toEqual([11, 12]);
    expect(p3.next).toBeNull();
    // A page that ends exactly at the current version has nothing after it.
    expect((await history(t, 'hist-1', 7, 5)).next).toBeNull();
    expect(await history(t, 'hist-1', 12, 5)).toEqual({ items: [], next: null });
  });

  it('answers change events with twin, version, at, via, patch and delta', async () => {
    const all: { items: Array<Json & { version: number }>; next: number | null } = await expectJson(await t.call('GET', '/v1/twins/hist-1/history'), 200);
    expect(all.items).toHaveLength(12);
    expect(all.next).toBeNull();
    expect(all.items[0]).toEqual({ twin: 'hist-1', version: 1, at: expect.any(String), via: 'http', patch: { desired: { n: 0 } }, delta: { n: 0 } });
    expect(all.items[11]).toEqual({ twin: 'hist-1', version: 12, at: expect.any(String), via: 'http', patch: { desired: { n: 11 } }, delta: { n: 11 } });
  });

  it('refuses bad since and limit parameters with 400 and a missing twin with 404', async () => {
    await expectProblem(await t.call('GET', '/v1/twins/hist-1/history?limit=1001'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins/hist-1/history?limit=0'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins/hist-1/history?since=-1'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins/hist-1/history?since=abc'), 400, 'invalid_request');
    await expectProblem(await t.call('GET', '/v1/twins/no-hist/history'), 404, 'not_found');
  });
});

describe('clientToken', () => {
  it('is echoed at the top level of the reply and in the change event it causes', async () => {
    const created = await expectJson<Twin>(await t.call('POST', '/v1/twins', { body: { id: 'ct-1', desired: { a: 1 }, clientToken: 'create-abc' } }), 201);
    expect(created.clientToken).toBe('create-abc');
    const patched = await patch('ct-1', { desired: { a: 2 }, clientToken: 'patch-def' });
    expect(patched.clientToken).toBe('patch-def');
    const reported = await expectJson<Json>(await t.call('PATCH', '/v1/twins/ct-1/reported?clientToken=report-ghi', { body: { a: 2 } }), 200);
    expect(reported.clientToken).toBe('report-ghi');
    const plain = await patch('ct-1', { desired: { a: 3 } });
    expect('clientToken' in plain).toBe(false);

    const { items } = await history(t, 'ct-1');
    expect(items.map((e) => e.clientToken)).toEqual(['create-abc', 'patch-def', 'report-ghi', undefined]);
    expect('clientToken' in items[3]!).toBe(false);
    // The token belongs to the write, never to the twin.
    expect('clientToken' in (await twin('ct-1'))).toBe(false);
  });

  it('longer than 64 characters is refused with 400 and changes nothing', async () => {
    await createTwin(t, 'ct-2', { desired: { a: 1 } });
    const before = await snapshotOf(t, 'ct-2');
    await expectProblem(await t.call('PATCH', '/v1/twins/ct-2', { body: { desired: { a: 2 }, clientToken: 'x'.repeat(65) } }), 400, 'invalid_request');
    expect(await snapshotOf(t, 'ct-2')).toEqual(before);
    expect((await patch('ct-2', { desired: { a: 2 }, clientToken: 'x'.repeat(64) })).clientToken).toBe('x'.repeat(64));
  });
});

describe('metadata, sync and connection', () => {
  it('keeps pendingSince from when the delta became non-empty until the device converges', async () => {
    const created = await createTwin(t, 'sync-1', { desired: { temp: 21 } }) as unknown as Twin;
    expect(created.sync).toEqual({ inSync: false, pendingSince: created.createdAt });
    expect(created.metadata.desired).toEqual({ temp: { updatedAt: created.createdAt } });

    // Another desired change while pending keeps pendingSince and only touches the new leaf's metadata.
    const more = await patch('sync-1', { desired: { mode: 'eco' } });
    expect(more.sync).toEqual({ inSync: false, pendingSince: created.createdAt });
    expect(more.metadata.desired).toEqual({ temp: { updatedAt: created.createdAt }, mode: { updatedAt: more.updatedAt } });

    // Partly converged: still pending since the start.
    await report('sync-1', { temp: 21 });
    const partial = await twin('sync-1');
    expect(partial.delta).toEqual({ mode: 'eco' });
    expect(partial.sync).toEqual({ inSync: false, pendingSince: created.createdAt });

    const converged = await report('sync-1', { mode: 'eco', fw: '1.2.0' });
    expect(converged.delta).toEqual({});
    const inSync = await twin('sync-1');
    expect(inSync.sync).toEqual({ inSync: true });
    expect(Object.keys(inSync.metadata.reported).sort()).toEqual(['fw', 'mode', 'temp']);
    expect((inSync.metadata.reported.fw as Json).updatedAt).toBe(inSync.updatedAt);

    // Diverging again starts a new pending period at that write.
    const diverged = await patch('sync-1', { desired: { temp: 22 } });
    expect(diverged.sync).toEqual({ inSync: false, pendingSince: diverged.updatedAt });
    expect(diverged.delta).toEqual({ temp: 22 });

    // Writing the same value again changes neither the version nor the metadata.
    const again = await patch('sync-1', { desired: { temp: 22, mode: 'eco' } });
    expect(again).toEqual(diverged);
  });

  it('computes delta by deep equality: nested leaves, arrays whole, keys only in reported ignored', async () => {
    await createTwin(t, 'delta-1', { desired: { list: [1, 2], n: { x: 1, y: 2 }, s: 'on' } });
    const view = await report('delta-1', { list: [1, 2], n: { x: 1, y: 3 }, s: 'on', extra: true });
    expect(view).toEqual({ version: 2, desired: { list: [1, 2], n: { x: 1, y: 2 }, s: 'on' }, reported: { list: [1, 2], n: { x: 1, y: 3 }, s: 'on', extra: true }, delta: { n: { y: 2 } } });
    const arr = await report('delta-1', { list: [2, 1] });
    expect(arr.delta).toEqual({ list: [1, 2], n: { y: 2 } });
  });

  it('marks the device online when it reads or reports with its own token, not when the admin writes', async () => {
    await createTwin(t, 'conn-1', { desired: { a: 1 } });
    await report('conn-1', { a: 0 }); // the admin token: no device contact
    expect((await twin('conn-1')).connection).toEqual({ online: false, via: null, lastSeenAt: null });

    const token = await deviceToken(t, 'conn-1');
    const read = await t.call('GET', '/v1/twins/conn-1', { token });
    expect(read.status).toBe(200);
    const seen = (await twin('conn-1')).connection;
    expect(seen).toMatchObject({ online: true, via: 'http' });
    expect(Number.isNaN(Date.parse(seen.lastSeenAt!))).toBe(false);

    await report('conn-1', { a: 1 }, token);
    expect((await twin('conn-1')).connection).toMatchObject({ online: true, via: 'http' });
  });
});
