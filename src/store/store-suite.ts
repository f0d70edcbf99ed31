/**
 * @module
 * The contract every `TwinStore` passes (the aedes-persistence "abstract" pattern): each
 * implementation's test file calls `describeStoreContract` with a factory for fresh stores.
 * Test-only: imports vitest.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeEvent, JsonObject, TwinState } from '../twin/types.ts';
import type { BatchStats, StoreOp, StoredCredential, TwinStore } from './types.ts';

/** A fresh, unopened store and how to dispose of it once the suite has closed it. */
export type StoreFactory = () => Promise<{ store: TwinStore; cleanup: () => Promise<void> }>;

const T0 = '2026-11-23T10:00:00.000Z';

/** A minimal valid twin, with `over` laid on top. */
export function sampleTwin(id: string, over: Partial<TwinState> = {}): TwinState {
  return {
    id, version: 1, desired: {}, reported: {}, delta: {}, tags: {},
    metadata: { desired: {}, reported: {} },
    pendingSince: null, lastSeenAt: null, lastSeenVia: null, tokenId: null,
    createdAt: T0, updatedAt: T0, ...over,
  };
}

export function sampleEvent(twin: string, version: number, over: Partial<ChangeEvent> = {}): ChangeEvent {
  return { twin, version, at: T0, via: 'http', patch: { desired: { v: version } }, delta: {}, ...over };
}

/** Nested, unicode-laden documents of the kinds twins hold, including the awkward numbers. */
function richDocument(): JsonObject {
  let deep: JsonObject = { leaf: 'bottom' };
  for (let i = 0; i < 9; i++) deep = { [`level${i}`]: deep };
  return {
    'température': 19.5,
    emoji: '🌡️ 温度 ✓',
    nul: 'a\u0000b',
    empty: '',
    numbers: [0, -3, 0.1, 1e-7, 2 ** 53 - 1, -(2 ** 40), 1e21, 4294967296],
    flags: [true, false, null],
    nested: { a: { b: [{ c: 'd' }, [], {}] }, 'ключ': { '键': 'значение' } },
    deep,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function ids(store: TwinStore, opts: { prefix?: string; after?: string; limit?: number }): Promise<string[]> {
  return (await collect(store.listTwins(opts))).map((t) => t.id);
}

const device = (id: string, twin: string): StoredCredential => ({ kind: 'device', id, twin, hash: `hash-${id}`, createdAt: T0 });
const apiKey = (id: string): StoredCredential => ({
  kind: 'key', id, name: 'Ünïcode key 🔑', scopes: ['twins:read', 'twins:write'], prefix: 'site-a:', hash: `hash-${id}`, createdAt: T0,
});

// Ids chosen so that byte order, prefixes and the `!` separator all matter.
const TRICKY_IDS = ['a', 'a-', 'a.b', 'a.b.c', 'a0', 'a:b', 'a_b', 'aa', 'ab', 'A', 'B', '0', '9', 'b', 'z'];

export function describeStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`${name} (TwinStore contract)`, () => {
    let store: TwinStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
      await store.open();
    });

    afterEach(async () => {
      await store.close().catch(() => undefined);
      await cleanup();
    });

    describe('twins', () => {
      it('getTwin() answers undefined for an absent twin', async () => {
        expect(await store.getTwin('nope')).toBeUndefined();
      });

      it('round-trips a twin with unicode, nested data and awkward numbers into plain objects', async () => {
        const twin = sampleTwin('thermo-42', {
          version: 17, desired: richDocument(), reported: { temp: 19.5, fw: '1.2.0' }, delta: { temp: 21 },
          tags: { site: 'берлин' }, metadata: { desired: { temp: { updatedAt: T0 } }, reported: {} },
          pendingSince: T0, lastSeenAt: T0, lastSeenVia: 'coap', tokenId: 'tok-1',
        });
        await store.commit([{ type: 'putTwin', twin }]);
        const read = await store.getTwin('thermo-42');
        expect(read).toEqual(twin);
        expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
        expect(Object.getPrototypeOf(read!.desired['nested'])).toBe(Object.prototype);
        expect(read!.desired['nested']).not.toBeInstanceOf(Map);
        expect(Array.isArray(read!.desired['numbers'])).toBe(true);
      });

      it('putTwin() replaces the previous snapshot', async () => {
        await store.commit([{ type: 'putTwin', twin: sampleTwin('a', { desired: { x: 1, y: 2 } }) }]);
        await store.commit([{ type: 'putTwin', twin: sampleTwin('a', { version: 2, desired: { x: 3 } }) }]);
        expect(await store.getTwin('a')).toEqual(sampleTwin('a', { version: 2, desired: { x: 3 } }));
      });

      it('reads return fresh objects that callers may mutate', async () => {
        await store.commit([{ type: 'putTwin', twin: sampleTwin('a', { desired: { x: { y: 1 } } }) }]);
        const first = await store.getTwin('a');
        (first!.desired['x'] as JsonObject)['y'] = 99;
        first!.version = 42;
        const [listed] = await collect(store.listTwins({}));
        listed!.tags['mutated'] = true;
        expect(await store.getTwin('a')).toEqual(sampleTwin('a', { desired: { x: { y: 1 } } }));
      });

      it('commit() stores the documents as they were when it was called', async () => {
        const twin = sampleTwin('a', { desired: { x: 1 } });
        const done = store.commit([{ type: 'putTwin', twin }]);
        twin.desired['x'] = 2;
        await done;
        expect((await store.getTwin('a'))!.desired).toEqual({ x: 1 });
      });

      it('deleteTwin removes the snapshot, and deleting an absent twin is a no-op', async () => {
        await store.commit([{ type: 'putTwin', twin: sampleTwin('a') }]);
        await store.commit([{ type: 'deleteTwin', id: 'a' }, { type: 'deleteTwin', id: 'never-was' }]);
        expect(await store.getTwin('a')).toBeUndefined();
      });
    });

    describe('listTwins()', () => {
      beforeEach(async () => {
        await store.commit(TRICKY_IDS.map((id) => ({ type: 'putTwin', twin: sampleTwin(id) })));
      });

      it('lists every twin in id order', async () => {
        expect(await ids(store, {})).toEqual([...TRICKY_IDS].sort());
      });

      it.each(['a', 'a.', 'a.b', 'a:', 'a-', 'a_', 'aa', 'A', '9', 'zz', 'a!', '"', 'é'])(
        'lists exactly the ids starting with prefix %j',
        async (prefix) => {
          expect(await ids(store, { prefix })).toEqual(TRICKY_IDS.filter((id) => id.startsWith(prefix)).sort());
        },
      );

      it('honours limit, and a limit of 0 lists nothing', async () => {
        expect(await ids(store, { limit: 3 })).toEqual([...TRICKY_IDS].sort().slice(0, 3));
        expect(await ids(store, { prefix: 'a', limit: 2 })).toEqual(['a', 'a-']);
        expect(await ids(store, { limit: 0 })).toEqual([]);
      });

      it('starts after `after`, exclusive, whether or not that id exists', async () => {
        expect(await ids(store, { after: 'a.b' })).toEqual([...TRICKY_IDS].sort().filter((id) => id > 'a.b'));
        expect(await ids(store, { after: 'a.a' })).toEqual([...TRICKY_IDS].sort().filter((id) => id > 'a.a'));
        expect(await ids(store, { prefix: 'a.', after: 'a.b' })).toEqual(['a.b.c']);
        // An `after` before the prefix range, and one past it.
        expect(await ids(store, { prefix: 'a.', after: '0' })).toEqual(['a.b', 'a.b.c']);
        expect(await ids(store, { prefix: 'a.', after: 'b' })).toEqual([]);
      });

      it('pages through a prefix with after/limit without gaps or repeats', async () => {
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await ids(store, { prefix: 'a', limit: 3, ...(after === undefined ? {} : { after }) });
          seen.push(...page);
          if (page.length < 3) break;
          after = page[page.length - 1];
        }
        expect(seen).toEqual(TRICKY_IDS.filter((id) => id.startsWith('a')).sort());
      });

      it('stops early without trouble when the caller breaks out', async () => {
        const got: string[] = [];
        for await (const twin of store.listTwins({})) {
          got.push(twin.id);
          if (got.length === 2) break;
        }
        expect(got).toEqual(['0', '9']);
        expect(await store.getTwin('a')).toBeDefined();
      });

      it('agrees with filtering by startsWith for random ids and prefixes', async () => {
        const idChar = fc.constantFrom('a', 'b', 'A', '0', '.', '_', ':', '-');
        const suffix = fc.array(idChar, { minLength: 0, maxLength: 4 }).map((cs) => cs.join(''));
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.uniqueArray(suffix, { maxLength: 12 }), suffix, fc.option(suffix), async (suffixes, prefixSuffix, afterSuffix) => {
            // Each run gets its own namespace `r{n}_`, so runs need no reset between them.
            const ns = `r${run++}_`;
            await store.commit(suffixes.map((s) => ({ type: 'putTwin', twin: sampleTwin(ns + s) })));
            const prefix = ns + prefixSuffix;
            const after = afterSuffix === null ? undefined : ns + afterSuffix;
            const expected = suffixes.map((s) => ns + s).filter((id) => id.startsWith(prefix) && (after === undefined || id > after)).sort();
            expect(await ids(store, { prefix, ...(after === undefined ? {} : { after }) })).toEqual(expected);
          }),
          { numRuns: 40 },
        );
      });
    });

    describe('history', () => {
      beforeEach(async () => {
        const ops: StoreOp[] = [];
        for (let v = 1; v <= 12; v++) ops.push({ type: 'putEvent', event: sampleEvent('a', v) });
        for (let v = 1; v <= 3; v++) ops.push({ type: 'putEvent', event: sampleEvent('a.b', v) });
        for (let v = 1; v <= 2; v++) ops.push({ type: 'putEvent', event: sampleEvent('ab', v) });
        ops.push({ type: 'putTwin', twin: sampleTwin('a', { version: 12 }) });
        ops.push({ type: 'putTwin', twin: sampleTwin('a.b', { version: 3 }) });
        ops.push({ type: 'putTwin', twin: sampleTwin('ab', { version: 2 }) });
        await store.commit(ops);
      });

      const versions = (events: ChangeEvent[]) => events.map((e) => e.version);

      it('round-trips an event with its client token and unicode patch', async () => {
        const event = sampleEvent('t1', 1, { clientToken: 'tök-1', via: 'coap', patch: { reported: richDocument() }, delta: { temp: 21 } });
        await store.commit([{ type: 'putEvent', event }]);
        const [read] = await store.readHistory('t1', { after: 0, limit: 10 });
        expect(read).toEqual(event);
        expect(Object.getPrototypeOf(read!.patch)).toBe(Object.prototype);
      });

      it('reads versions after `after`, ascending, in numeric not string order', async () => {
        expect(versions(await store.readHistory('a', { after: 0, limit: 100 }))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        expect(versions(await store.readHistory('a', { after: 8, limit: 100 }))).toEqual([9, 10, 11, 12]);
      });

      it('returns at most `limit` events', async () => {
        expect(versions(await store.readHistory('a', { after: 5, limit: 3 }))).toEqual([6, 7, 8]);
        expect(await store.readHistory('a', { after: 0, limit: 0 })).toEqual([]);
      });

      it('answers nothing after the last version, and everything for a negative `after`', async () => {
        expect(await store.readHistory('a', { after: 12, limit: 10 })).toEqual([]);
        expect(await store.readHistory('a', { after: 1e12, limit: 10 })).toEqual([]);
        expect(versions(await store.readHistory('a.b', { after: -5, limit: 10 }))).toEqual([1, 2, 3]);
        expect(await store.readHistory('nope', { after: 0, limit: 10 })).toEqual([]);
      });

      it('keeps the history of an id apart from ids it is a prefix of', async () => {
        expect((await store.readHistory('a', { after: 0, limit: 100 })).every((e) => e.twin === 'a')).toBe(true);
        expect(versions(await store.readHistory('ab', { after: 0, limit: 100 }))).toEqual([1, 2]);
      });

      it('deleteEvent removes single versions', async () => {
        await store.commit([1, 2, 3].map((version) => ({ type: 'deleteEvent', twin: 'a', version })));
        expect(versions(await store.readHistory('a', { after: 0, limit: 100 }))).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);
      });

      it('refuses a non-integer `after` or a negative `limit` as invalid_request', async () => {
        await expect(store.readHistory('a', { after: Number.NaN, limit: 10 })).rejects.toMatchObject({ code: 'invalid_request' });
        await expect(store.readHistory('a', { after: 1.5, limit: 10 })).rejects.toMatchObject({ code: 'invalid_request' });
        await expect(store.readHistory('a', { after: 0, limit: -1 })).rejects.toMatchObject({ code: 'invalid_request' });
      });

      it('deleteTwinOps() lists the snapshot and exactly this twin\'s events', async () => {
        const ops = await store.deleteTwinOps('a');
        expect(ops[0]).toEqual({ type: 'deleteTwin', id: 'a' });
        expect(ops.slice(1)).toEqual(Array.from({ length: 12 }, (_, i) => ({ type: 'deleteEvent', twin: 'a', version: i + 1 })));
      });

      it('committing deleteTwinOps() removes the twin and its history and leaves its neighbours', async () => {
        await store.commit(await store.deleteTwinOps('a'));
        expect(await store.getTwin('a')).toBeUndefined();
        expect(await store.readHistory('a', { after: 0, limit: 100 })).toEqual([]);
        expect((await store.getTwin('a.b'))?.version).toBe(3);
        expect(versions(await store.readHistory('a.b', { after: 0, limit: 100 }))).toEqual([1, 2, 3]);
        expect(versions(await store.readHistory('ab', { after: 0, limit: 100 }))).toEqual([1, 2]);
        expect(await ids(store, {})).toEqual(['a.b', 'ab']);
      });

      it('deleteTwinOps() of an unknown twin is just its deleteTwin', async () => {
        expect(await store.deleteTwinOps('nope')).toEqual([{ type: 'deleteTwin', id: 'nope' }]);
      });
    });

    describe('pending index', () => {
      const at = (day: number) => `2026-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;
      it('counts the entries and finds the oldest, whatever the order of the ids', async () => {
        expect(await store.countPending()).toBe(0);
        expect(await store.oldestPending()).toBeUndefined();
        await store.commit([
          { type: 'putPending', twin: 'a', since: at(3) }, { type: 'putPending', twin: 'z', since: at(1) }, { type: 'putPending', twin: 'm', since: at(2) },
        ]);
        expect(await store.countPending()).toBe(3);
        expect(await store.oldestPending()).toEqual({ twin: 'z', since: at(1) });
      });

      it('deletePending removes exactly that entry; twins and history are untouched by the index', async () => {
        await store.commit([{ type: 'putTwin', twin: sampleTwin('a') }, { type: 'putPending', twin: 'a', since: at(1) }, { type: 'putPending', twin: 'b', since: at(2) }]);
        await store.commit([{ type: 'deletePending', twin: 'a', since: at(1) }]);
        expect(await store.countPending()).toBe(1);
        expect(await store.oldestPending()).toEqual({ twin: 'b', since: at(2) });
        expect(await store.getTwin('a')).toBeDefined();
        expect(await collect(store.listTwins({}))).toHaveLength(1);
      });

      it('counts past a thousand entries, and no twin or history record with them', async () => {
        const ops: StoreOp[] = [{ type: 'putTwin', twin: sampleTwin('a') }];
        for (let i = 0; i < 2345; i++) ops.push({ type: 'putPending', twin: `t-${i}`, since: at(1 + (i % 28)) });
        await store.commit(ops);
        expect(await store.countPending()).toBe(2345);
      });

      it('refuses a pendingSince that is not an ISO timestamp (it would break the order)', async () => {
        await expect(store.commit([{ type: 'putPending', twin: 'a', since: 'yesterday' }])).rejects.toMatchObject({ code: 'internal' });
      });
    });

    describe('credentials', () => {
      it('round-trips device and key credentials and lists them by kind', async () => {
        const creds = [device('d1', 'a'), device('d2', 'b'), apiKey('k1'), apiKey('k2')];
        await store.commit(creds.map((credential) => ({ type: 'putCredential', credential })));
        expect(await store.getCredential('key', 'k1')).toEqual(apiKey('k1'));
        expect(await store.getCredential('device', 'd2')).toEqual(device('d2', 'b'));
        expect(await store.getCredential('key', 'nope')).toBeUndefined();
        expect(await store.listCredentials('device')).toEqual([device('d1', 'a'), device('d2', 'b')]);
        expect(await store.listCredentials('key')).toEqual([apiKey('k1'), apiKey('k2')]);
      });

      it('keeps keys and device credentials apart: each kind is read, listed and deleted on its own', async () => {
        await store.commit([{ type: 'putCredential', credential: device('same', 'a') }, { type: 'putCredential', credential: apiKey('same') }]);
        expect(await store.getCredential('device', 'same')).toEqual(device('same', 'a'));
        expect(await store.getCredential('key', 'same')).toEqual(apiKey('same'));
        expect(await store.getCredential('key', 'd-only')).toBeUndefined();
        await store.commit([{ type: 'putCredential', credential: device('d-only', 'b') }]);
        expect(await store.getCredential('key', 'd-only')).toBeUndefined();
        await store.commit([{ type: 'deleteCredential', kind: 'device', id: 'same' }]);
        expect(await store.getCredential('device', 'same')).toBeUndefined();
        expect(await store.getCredential('key', 'same')).toEqual(apiKey('same'));
        expect(await store.listCredentials('key')).toEqual([apiKey('same')]);
        expect(await store.listCredentials('device')).toEqual([device('d-only', 'b')]);
      });

      it('deleteCredential removes one credential of its kind', async () => {
        await store.commit([{ type: 'putCredential', credential: device('d1', 'a') }, { type: 'putCredential', credential: device('d2', 'b') }]);
        await store.commit([{ type: 'deleteCredential', kind: 'key', id: 'd1' }]);
        expect(await store.getCredential('device', 'd1')).toEqual(device('d1', 'a'));
        await store.commit([{ type: 'deleteCredential', kind: 'device', id: 'd1' }]);
        expect(await store.getCredential('device', 'd1')).toBeUndefined();
        expect(await store.listCredentials('device')).toEqual([device('d2', 'b')]);
      });

      it('credentials do not show up as twins and twins not as credentials', async () => {
        await store.commit([
          { type: 'putCredential', credential: device('t!x', 'a') }, { type: 'putCredential', credential: apiKey('t!y') },
          { type: 'putTwin', twin: sampleTwin('c') }, { type: 'putTwin', twin: sampleTwin('k') }, { type: 'putTwin', twin: sampleTwin('d') },
        ]);
        expect(await ids(store, {})).toEqual(['c', 'd', 'k']);
        expect((await store.listCredentials('device')).map((c) => c.id)).toEqual(['t!x']);
        expect((await store.listCredentials('key')).map((c) => c.id)).toEqual(['t!y']);
      });

      it('lists ids with characters around the separator within their own kind', async () => {
        const awkward = ['!', '!!', '"', 'a!b', '\u00ff', '~', 'z'];
        await store.commit(awkward.flatMap((id) => [
          { type: 'putCredential', credential: device(id, 'a') } as const, { type: 'putCredential', credential: apiKey(`k${id}`) } as const,
        ]));
        expect((await store.listCredentials('device')).map((c) => c.id)).toEqual([...awkward].sort());
        expect((await store.listCredentials('key')).map((c) => c.id)).toEqual(awkward.map((id) => `k${id}`).sort());
      });

      it('refuses a credential op of an unknown kind as internal', async () => {
        await expect(store.commit([{ type: 'deleteCredential', kind: 'admin' as never, id: 'x' }])).rejects.toMatchObject({ code: 'internal' });
      });
    });

    describe('commit()', () => {
      it('applies every op of a commit together', async () => {
        await store.commit([
          { type: 'putTwin', twin: sampleTwin('a') },
          { type: 'putEvent', event: sampleEvent('a', 1) },
          { type: 'putCredential', credential: device('d1', 'a') },
        ]);
        expect(await store.getTwin('a')).toBeDefined();
        expect(await store.readHistory('a', { after: 0, limit: 10 })).toHaveLength(1);
        expect(await store.getCredential('device', 'd1')).toBeDefined();
      });

      it('resolves an empty commit', async () => {
        await expect(store.commit([])).resolves.toBeUndefined();
      });

      it('rejects a commit with an op that would break the key layout, applying none of it', async () => {
        const bad = store.commit([{ type: 'putTwin', twin: sampleTwin('good') }, { type: 'putTwin', twin: sampleTwin('bad!id') }]);
        await expect(bad).rejects.toMatchObject({ code: 'internal' });
        await expect(store.commit([{ type: 'putEvent', event: sampleEvent('a', 1.5) }])).rejects.toMatchObject({ code: 'internal' });
        expect(await store.getTwin('good')).toBeUndefined();
        await store.commit([{ type: 'putTwin', twin: sampleTwin('after') }]);
        expect(await store.getTwin('after')).toBeDefined();
      });

      it('applies concurrent commits in call order and resolves them in that order', async () => {
        const resolved: number[] = [];
        const commits = Array.from({ length: 50 }, (_, i) =>
          store.commit([{ type: 'putTwin', twin: sampleTwin('a', { version: i + 1 }) }]).then(() => { resolved.push(i); }));
        const last = store.commit([{ type: 'deleteTwin', id: 'b' }]);
        const recreate = store.commit([{ type: 'putTwin', twin: sampleTwin('b', { version: 7 }) }]);
        await Promise.all([...commits, last, recreate]);
        expect((await store.getTwin('a'))?.version).toBe(50);
        expect((await store.getTwin('b'))?.version).toBe(7);
        expect(resolved).toEqual(Array.from({ length: 50 }, (_, i) => i));
      });

      it('reports every commit and op through onBatch', async () => {
        const stats: BatchStats[] = [];
        store.onBatch = (s) => { stats.push(s); };
        await Promise.all(Array.from({ length: 20 }, (_, i) =>
          store.commit([{ type: 'putTwin', twin: sampleTwin(`t${i}`) }, { type: 'putEvent', event: sampleEvent(`t${i}`, 1) }])));
        expect(stats.reduce((n, s) => n + s.commits, 0)).toBe(20);
        expect(stats.reduce((n, s) => n + s.ops, 0)).toBe(40);
        expect(stats.every((s) => s.ms >= 0 && s.bytes >= 0)).toBe(true);
      });

      it('an onBatch hook that throws does not fail commits', async () => {
        store.onBatch = () => { throw new Error('metrics broke'); };
        await expect(store.commit([{ type: 'putTwin', twin: sampleTwin('a') }])).resolves.toBeUndefined();
        expect(await store.getTwin('a')).toBeDefined();
      });
    });

    describe('open and close', () => {
      it('open() twice is harmless', async () => {
        await store.open();
        await store.commit([{ type: 'putTwin', twin: sampleTwin('a') }]);
        expect(await store.getTwin('a')).toBeDefined();
      });

      it('close() waits for queued commits', async () => {
        const settled: boolean[] = [];
        const commits = Array.from({ length: 30 }, (_, i) =>
          store.commit([{ type: 'putTwin', twin: sampleTwin(`t${i}`) }]).then(() => { settled.push(true); }));
        await store.close();
        expect(settled).toHaveLength(30);
        await Promise.all(commits);
      });

      it('after close() every method rejects with unavailable', async () => {
        await store.commit([{ type: 'putTwin', twin: sampleTwin('a') }]);
        await store.close();
        const closed = { code: 'unavailable', message: 'Store is closed' };
        await expect(store.getTwin('a')).rejects.toMatchObject(closed);
        await expect(store.commit([{ type: 'putTwin', twin: sampleTwin('b') }])).rejects.toMatchObject(closed);
        await expect(store.deleteTwinOps('a')).rejects.toMatchObject(closed);
        await expect(collect(store.listTwins({}))).rejects.toMatchObject(closed);
        await expect(store.readHistory('a', { after: 0, limit: 1 })).rejects.toMatchObject(closed);
        await expect(store.getCredential('key', 'a')).rejects.toMatchObject(closed);
        await expect(store.listCredentials('key')).rejects.toMatchObject(closed);
        await expect(store.open()).rejects.toMatchObject(closed);
        await expect(store.close()).resolves.toBeUndefined();
      });

      it('a commit made while closing is refused, and the queued ones still land', async () => {
        const queued = store.commit([{ type: 'putTwin', twin: sampleTwin('a') }]);
        const closing = store.close();
        await expect(store.commit([{ type: 'putTwin', twin: sampleTwin('b') }])).rejects.toMatchObject({ code: 'unavailable' });
        await queued;
        await closing;
      });
    });
  });

  describe(`${name} before open()`, () => {
    it('refuses reads and commits with unavailable', async () => {
      const { store, cleanup } = await makeStore();
      try {
        await expect(store.getTwin('a')).rejects.toMatchObject({ code: 'unavailable', message: 'Store is not open' });
        await expect(store.commit([])).rejects.toMatchObject({ code: 'unavailable', message: 'Store is not open' });
      } finally {
        await store.close();
        await cleanup();
      }
    });
  });
}
