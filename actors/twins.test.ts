import { describe, expect, it, vi } from 'vitest';
import { createCredentials, createRateLimiter } from '../src/auth/index.ts';
import { DoppelError } from '../src/errors.ts';
import { createMemoryStore } from '../src/store/memory-store.ts';
import type { StoreOp, TwinStore } from '../src/store/types.ts';
import { DEFAULT_LIMITS } from '../src/twin/types.ts';
import type { TwinNotice } from './event-bus.ts';
import { TwinService } from './twins.ts';
import type { TwinServiceOptions, WriteContext } from './twins.ts';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const HTTP: WriteContext = { via: 'http' };
const DEVICE: WriteContext = { via: 'coap', deviceContact: true };

/**
 * A store that forwards to `inner`, records every commit, and can be told to fail commits that
 * touch one twin (as a full disk or a LevelDB error would).
 */
function wrapStore(inner: TwinStore) {
  const commits: StoreOp[][] = [];
  const failing = new Set<string>();
  /** Extra failure rule, consulted on every commit. */
  const hooks: { fail: (ops: StoreOp[]) => boolean } = { fail: () => false };
  const failure = new DoppelError('unavailable', 'Storage failure: disk full');
  const touches = (op: StoreOp, id: string) =>
    (op.type === 'putTwin' && op.twin.id === id) || (op.type === 'putEvent' && op.event.twin === id)
    || ((op.type === 'deleteTwin') && op.id === id) || (op.type === 'deleteEvent' && op.twin === id);
  const store: TwinStore = {
    open: () => inner.open(),
    close: () => inner.close(),
    getTwin: (id) => inner.getTwin(id),
    commit: async (ops) => {
      if ([...failing].some((id) => ops.some((op) => touches(op, id))) || hooks.fail(ops)) throw failure;
      commits.push(ops);
      return inner.commit(ops);
    },
    deleteTwinOps: (id) => inner.deleteTwinOps(id),
    listTwins: (opts) => inner.listTwins(opts),
    readHistory: (id, opts) => inner.readHistory(id, opts),
    getCredential: (kind, id) => inner.getCredential(kind, id),
    listCredentials: (kind) => inner.listCredentials(kind),
    countPending: () => inner.countPending(),
    records: () => inner.records(),
    oldestPending: () => inner.oldestPending(),
  };
  return { store, commits, failing, failure, hooks };
}

async function setup(over: Partial<TwinServiceOptions> = {}) {
  const inner = createMemoryStore();
  await inner.open();
  const { store, commits, failing, failure, hooks } = wrapStore(inner);
  const clock = { t: T0 };
  const credentials = await createCredentials({
    store, adminToken: 'admin-token-0123456789', limiter: createRateLimiter(() => 0),
    limits: { device: { rate: 1e6, burst: 1e6 }, key: { rate: 1e6, burst: 1e6 } },
  });
  const forget = vi.spyOn(credentials, 'forget');
  const twins = new TwinService({
    store, credentials, limits: DEFAULT_LIMITS, historyRetention: 1000, livenessMs: 60_000,
    maxResident: 1000, idleMs: 300_000, maxPendingPerTwin: 10_000, now: () => new Date(clock.t), ...over,
  });
  const notices: TwinNotice[] = [];
  twins.feed.subscribePrefix('', (n) => notices.push(n));
  const versionsOf = (twin: string) => notices.flatMap((n) => (n.type === 'change' && n.event.twin === twin ? [n.event.version] : []));
  const history = async (twin: string) => (await inner.readHistory(twin, { after: 0, limit: 10_000 })).map((e) => e.version);
  return { twins, store: inner, commits, failing, failure, hooks, clock, credentials, forget, notices, versionsOf, history };
}

async function errorOf(p: Promise<unknown>): Promise<DoppelError> {
  try { await p; } catch (err) { return err as DoppelError; }
  throw new Error('expected a rejection');
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('TwinService.create()', () => {
  it('creates a twin at version 1, persists it and publishes its event', async () => {
    const { twins, store, versionsOf } = await setup();
    const { state, event } = await twins.create('thermo-42', { desired: { temp: 21 }, tags: { site: 'berlin' } }, { via: 'http', clientToken: 'c1' });
    expect(state).toMatchObject({ id: 'thermo-42', version: 1, desired: { temp: 21 }, delta: { temp: 21 }, tags: { site: 'berlin' } });
    expect(event).toMatchObject({ twin: 'thermo-42', version: 1, via: 'http', clientToken: 'c1' });
    expect(await store.getTwin('thermo-42')).toEqual(state);
    expect(await twins.get('thermo-42')).toEqual(state);
    expect(versionsOf('thermo-42')).toEqual([1]);
  });

  it('refuses to create an existing twin with already_exists and changes nothing', async () => {
    const { twins, versionsOf } = await setup();
    const { state } = await twins.create('a', { desired: { x: 1 } }, HTTP);
    const err = await errorOf(twins.create('a', { desired: { x: 2 } }, HTTP));
    expect(err.code).toBe('already_exists');
    expect(await twins.get('a')).toEqual(state);
    expect(versionsOf('a')).toEqual([1]);
  });

  it('refuses an existing twin even when its actor was passivated', async () => {
    const { twins, clock } = await setup({ idleMs: 1000 });
    await twins.create('a', {}, HTTP);
    clock.t += 5000;
    expect(twins.sweep()).toBe(1);
    expect((await errorOf(twins.create('a', {}, HTTP))).code).toBe('already_exists');
  });
});

describe('TwinService with a missing twin', () => {
  it('answers not_found for every operation', async () => {
    const { twins } = await setup();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['get', () => twins.get('nope')],
      ['touch', () => twins.touch('nope', 'coap')],
      ['patch', () => twins.patch('nope', { desired: { x: 1 } }, HTTP)],
      ['remove', () => twins.remove('nope')],
      ['issueDeviceToken', () => twins.issueDeviceToken('nope')],
      ['subscribe', () => twins.subscribe('nope', () => {})],
      ['attachDevice', () => twins.attachDevice('nope', 'coap')],
      ['history', () => twins.history('nope', 0, 10)],
    ];
    for (const [name, call] of calls) {
      expect({ name, code: (await errorOf(call())).code }).toEqual({ name, code: 'not_found' });
    }
    expect(twins.feed.listenerCount('nope')).toBe(0);
  });

  it('does not keep an actor resident for a twin that does not exist', async () => {
    const { twins } = await setup();
    for (let i = 0; i < 10; i++) await errorOf(twins.get(`ghost-${i}`));
    expect(twins.stats.resident).toBe(0);
  });
});

describe('TwinService with an invalid id', () => {
  it('answers invalid_request without activating an actor', async () => {
    const { twins, commits } = await setup();
    const bad = ['', '-leading-dash', 'has space', 'a/b', 'x'.repeat(129)];
    for (const id of bad) {
      const calls = [
        () => twins.create(id, {}, HTTP), () => twins.get(id), () => twins.touch(id, 'http'),
        () => twins.patch(id, { desired: { x: 1 } }, HTTP), () => twins.remove(id), () => twins.issueDeviceToken(id),
        () => twins.subscribe(id, () => {}), () => twins.attachDevice(id, 'ws'), () => twins.history(id, 0, 1),
      ];
      for (const call of calls) expect((await errorOf(call())).code).toBe('invalid_request');
    }
    expect(twins.stats).toMatchObject({ resident: 0, activated: 0, pending: 0 });
    expect(commits).toEqual([]);
  });
});

describe('TwinService.resident()', () => {
  it('answers the committed state of a resident twin without its mailbox, and undefined for others', async () => {
    const { twins } = await setup();
    expect(twins.resident('t')).toBeUndefined();
    await twins.create('t', { desired: { a: 1 } }, HTTP);
    expect(twins.resident('t')?.version).toBe(1);
    const { state } = await twins.patch('t', { desired: { a: 2 } }, HTTP);
    expect(twins.resident('t')).toBe(state);
    await twins.remove('t');
    expect(twins.resident('t')).toBeUndefined();
    expect(twins.resident('not an id')).toBeUndefined();
  });

  it('never shows a state whose commit has not finished', async () => {
    const { twins, store } = await setup();
    await twins.create('t', {}, HTTP);
    const commit = store.commit.bind(store);
    let release = () => {};
    const gate = new Promise<void>((r) => { release = r; });
    vi.spyOn(store, 'commit').mockImplementation(async (ops) => { await gate; return commit(ops); });
    const writing = twins.patch('t', { desired: { a: 1 } }, HTTP);
    await new Promise((r) => setTimeout(r, 10));
    expect(twins.resident('t')).toMatchObject({ version: 1 });
    release();
    expect((await writing).state.version).toBe(2);
    expect(twins.resident('t')).toMatchObject({ version: 2, desired: { a: 1 } });
  });
});

describe('TwinService.patch()', () => {
  it('gives 200 concurrent patches to one twin consecutive versions, no gaps, no duplicates', async () => {
    const { twins, versionsOf, history } = await setup();
    await twins.create('a', {}, HTTP);
    const results = await Promise.all(range(0, 199).map((i) =>
      twins.patch('a', i % 2 === 0 ? { desired: { n: i } } : { reported: { n: i } }, i % 2 === 0 ? HTTP : DEVICE)));
    // The mailbox keeps arrival order: the i-th patch is version i + 2.
    expect(results.map((r) => r.state.version)).toEqual(range(2, 201));
    expect(results.map((r) => r.event?.version)).toEqual(range(2, 201));
    expect(versionsOf('a')).toEqual(range(1, 201));
    expect(await history('a')).toEqual(range(1, 201));
    const final = await twins.get('a');
    expect(final).toMatchObject({ version: 201, desired: { n: 198 }, reported: { n: 199 } });
  });

  it('keeps versions consecutive across many twins patched at once', async () => {
    const { twins, versionsOf } = await setup();
    const ids = range(0, 9).map((i) => `t-${i}`);
    await Promise.all(ids.map((id) => twins.create(id, {}, HTTP)));
    await Promise.all(ids.flatMap((id) => range(0, 29).map((i) => twins.patch(id, { desired: { i } }, HTTP))));
    for (const id of ids) expect(versionsOf(id)).toEqual(range(1, 31));
  });

  it('answers a no-op patch with the current version and emits no event', async () => {
    const { twins, versionsOf, history, commits } = await setup();
    await twins.create('a', { desired: { temp: 21 } }, HTTP);
    const before = commits.length;
    const result = await twins.patch('a', { desired: { temp: 21 } }, HTTP);
    expect(result.event).toBeNull();
    expect(result.state.version).toBe(1);
    const empty = await twins.patch('a', {}, HTTP);
    expect(empty.event).toBeNull();
    expect(versionsOf('a')).toEqual([1]);
    expect(await history('a')).toEqual([1]);
    expect(commits.length).toBe(before);
  });

  it('clears desired when patched with desired: null', async () => {
    const { twins } = await setup();
    await twins.create('a', { desired: { temp: 21, mode: 'eco' }, tags: { site: 'b' } }, HTTP);
    const { state, event } = await twins.patch('a', { desired: null }, HTTP);
    expect(state.desired).toEqual({});
    expect(state.delta).toEqual({});
    expect(state.tags).toEqual({ site: 'b' });
    expect(event?.patch).toEqual({ desired: { temp: null, mode: null } });
    expect(state.version).toBe(2);
  });

  it('treats desired: null on an already empty desired as a no-op', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const { event, state } = await twins.patch('a', { desired: null }, HTTP);
    expect(event).toBeNull();
    expect(state.version).toBe(1);
  });

  it('refuses a stale ifVersion with version_conflict and changes nothing', async () => {
    const { twins, versionsOf } = await setup();
    await twins.create('a', {}, HTTP);
    await twins.patch('a', { desired: { x: 1 } }, HTTP);
    const err = await errorOf(twins.patch('a', { desired: { x: 2 } }, { via: 'http', ifVersion: 1 }));
    expect(err.code).toBe('version_conflict');
    expect((await twins.get('a')).desired).toEqual({ x: 1 });
    expect(versionsOf('a')).toEqual([1, 2]);
    const ok = await twins.patch('a', { desired: { x: 3 } }, { via: 'http', ifVersion: 2 });
    expect(ok.state.version).toBe(3);
  });

  it('echoes the client token in the change event', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const { event } = await twins.patch('a', { reported: { x: 1 } }, { via: 'ws', clientToken: 'tok-1' });
    expect(event).toMatchObject({ via: 'ws', clientToken: 'tok-1', patch: { reported: { x: 1 } } });
  });

  it('refuses patches over maxPendingPerTwin with unavailable', async () => {
    const { twins } = await setup({ maxPendingPerTwin: 5 });
    await twins.create('a', {}, HTTP);
    const results = await Promise.allSettled(range(0, 19).map((i) => twins.patch('a', { desired: { i } }, HTTP)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason.code).toBe('unavailable');
    const accepted = results.filter((r) => r.status === 'fulfilled').length;
    expect((await twins.get('a')).version).toBe(1 + accepted);
  });
});

describe('TwinService when a store commit fails', () => {
  it('leaves the twin exactly as it was, answers the caller with that error, and other twins keep working', async () => {
    const { twins, failing, failure, versionsOf, history } = await setup();
    await twins.create('bad', { desired: { temp: 20 } }, HTTP);
    await twins.create('good', {}, HTTP);
    await twins.patch('bad', { reported: { temp: 19 } }, HTTP);
    const before = await twins.get('bad');

    failing.add('bad');
    const [badResult, goodResult] = await Promise.allSettled([
      twins.patch('bad', { desired: { temp: 25 } }, HTTP),
      twins.patch('good', { desired: { on: true } }, HTTP),
    ]);
    expect(badResult).toEqual({ status: 'rejected', reason: failure });
    expect(goodResult.status).toBe('fulfilled');
    expect(await twins.get('bad')).toEqual(before);
    expect(versionsOf('bad')).toEqual([1, 2]);
    expect(await history('bad')).toEqual([1, 2]);
    expect((await twins.get('good')).version).toBe(2);

    failing.delete('bad');
    const next = await twins.patch('bad', { desired: { temp: 25 } }, HTTP);
    expect(next.state.version).toBe(before.version + 1);
    expect(versionsOf('bad')).toEqual([1, 2, 3]);
    expect(await history('bad')).toEqual([1, 2, 3]);
  });

  it('keeps the version sequence gap-free when some of many concurrent patches fail', async () => {
    const { twins, hooks, failure, versionsOf, history } = await setup();
    await twins.create('a', {}, HTTP);
    let attempt = 0;
    hooks.fail = () => ++attempt % 4 === 0; // every fourth commit meets a failing store
    const results = await Promise.allSettled(range(0, 39).map((i) => twins.patch('a', { desired: { i } }, HTTP)));
    hooks.fail = () => false;
    const accepted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.state.version] : []));
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(refused).toEqual(Array.from({ length: 10 }, () => failure));
    expect(accepted).toEqual(range(2, 31));
    expect(versionsOf('a')).toEqual(range(1, 31));
    expect(await history('a')).toEqual(range(1, 31));
    expect((await twins.get('a')).version).toBe(31);
  });

  it('leaves a twin uncreated when its creation commit fails', async () => {
    const { twins, failing, failure, versionsOf } = await setup();
    failing.add('new');
    expect(await errorOf(twins.create('new', { desired: { x: 1 } }, HTTP))).toBe(failure);
    expect((await errorOf(twins.get('new'))).code).toBe('not_found');
    expect(versionsOf('new')).toEqual([]);
    failing.delete('new');
    expect((await twins.create('new', {}, HTTP)).state.version).toBe(1);
  });

  it('keeps the twin and its event stream when a remove commit fails', async () => {
    const { twins, failing, failure, notices } = await setup();
    await twins.create('a', {}, HTTP);
    failing.add('a');
    expect(await errorOf(twins.remove('a'))).toBe(failure);
    failing.delete('a');
    expect((await twins.get('a')).version).toBe(1);
    expect(notices.some((n) => n.type === 'deleted')).toBe(false);
  });
});

describe('TwinService history retention', () => {
  it('keeps only the last historyRetention events', async () => {
    const { twins, history } = await setup({ historyRetention: 5 });
    await twins.create('a', {}, HTTP);
    for (let i = 0; i < 11; i++) await twins.patch('a', { desired: { i } }, HTTP);
    expect(await history('a')).toEqual([8, 9, 10, 11, 12]);
    const { events, more } = await twins.history('a', 0, 100);
    expect(more).toBe(false);
    expect(events.map((e) => e.version)).toEqual([8, 9, 10, 11, 12]);
  });

  it('keeps the retention bound under concurrent patches', async () => {
    const { twins, history } = await setup({ historyRetention: 5 });
    await twins.create('a', {}, HTTP);
    await Promise.all(range(0, 49).map((i) => twins.patch('a', { desired: { i } }, HTTP)));
    expect(await history('a')).toEqual([47, 48, 49, 50, 51]);
  });

  it('history() pages after `since` and says whether later events exist', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    for (let i = 0; i < 5; i++) await twins.patch('a', { desired: { i } }, HTTP);
    const { events, more } = await twins.history('a', 2, 2);
    expect(more).toBe(true);
    expect(events.map((e) => e.version)).toEqual([3, 4]);
    const last = await twins.history('a', 4, 2);
    expect(last.more).toBe(false);
    expect(last.events.map((e) => e.version)).toEqual([5, 6]);
  });
});

describe('TwinService.issueDeviceToken()', () => {
  it('stores a device credential for the twin that authenticates as that device', async () => {
    const { twins, credentials, store } = await setup();
    await twins.create('a', {}, HTTP);
    const token = await twins.issueDeviceToken('a');
    const principal = await credentials.authenticate(token);
    expect(principal).toMatchObject({ kind: 'device', twin: 'a' });
    const state = await twins.get('a');
    expect(state.tokenId).toBe(principal.kind === 'device' ? principal.id : null);
    expect(state.version).toBe(1); // issuing a token is not a change of the twin
    expect(await store.getCredential('device', state.tokenId!)).toMatchObject({ kind: 'device', twin: 'a' });
  });

  it('rotates: the old credential is deleted in the same commit and forgotten, so the old token stops working', async () => {
    const { twins, credentials, store, commits, forget } = await setup();
    await twins.create('a', {}, HTTP);
    const oldToken = await twins.issueDeviceToken('a');
    const oldId = (await twins.get('a')).tokenId!;
    await credentials.authenticate(oldToken); // caches the old record

    const newToken = await twins.issueDeviceToken('a');
    const newId = (await twins.get('a')).tokenId!;
    expect(newId).not.toBe(oldId);
    const rotation = commits.find((ops) => ops.some((op) => op.type === 'putCredential' && op.credential.id === newId));
    expect(rotation).toBeDefined();
    expect(rotation).toContainEqual({ type: 'deleteCredential', kind: 'device', id: oldId });
    expect(rotation!.some((op) => op.type === 'putTwin' && op.twin.tokenId === newId)).toBe(true);
    expect(forget).toHaveBeenCalledWith(oldId);
    expect(await store.getCredential('device', oldId)).toBeUndefined();
    expect((await errorOf(credentials.authenticate(oldToken))).code).toBe('unauthorized');
    expect(await credentials.authenticate(newToken)).toMatchObject({ kind: 'device', id: newId, twin: 'a' });
  });

  it('forgets nothing on the first issue', async () => {
    const { twins, forget } = await setup();
    await twins.create('a', {}, HTTP);
    await twins.issueDeviceToken('a');
    expect(forget).not.toHaveBeenCalled();
  });
});

describe('TwinService.remove()', () => {
  it('deletes the twin, its history and its credential, and publishes deleted', async () => {
    const { twins, store, credentials, forget, notices, history } = await setup();
    await twins.create('a', { desired: { x: 1 } }, HTTP);
    await twins.patch('a', { reported: { x: 1 } }, HTTP);
    const token = await twins.issueDeviceToken('a');
    const tokenId = (await twins.get('a')).tokenId!;
    await credentials.authenticate(token);

    await twins.remove('a');
    expect(await store.getTwin('a')).toBeUndefined();
    expect(await history('a')).toEqual([]);
    expect(await store.getCredential('device', tokenId)).toBeUndefined();
    expect(forget).toHaveBeenCalledWith(tokenId);
    expect((await errorOf(credentials.authenticate(token))).code).toBe('unauthorized');
    expect(notices.at(-1)).toEqual({ type: 'deleted', twin: 'a' });
    expect((await errorOf(twins.get('a'))).code).toBe('not_found');
  });

  it('lets the id be created again, starting over at version 1', async () => {
    const { twins, history } = await setup();
    await twins.create('a', {}, HTTP);
    await twins.patch('a', { desired: { x: 1 } }, HTTP);
    await twins.remove('a');
    const { state } = await twins.create('a', { desired: { y: 2 } }, HTTP);
    expect(state.version).toBe(1);
    expect(state.desired).toEqual({ y: 2 });
    expect(await history('a')).toEqual([1]);
  });

  it('does not keep the removed twin\'s actor resident', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    await twins.remove('a');
    expect(twins.stats.resident).toBe(0);
  });
});

describe('TwinService.connection()', () => {
  it('is offline with no contact for a fresh twin', async () => {
    const { twins } = await setup();
    const { state } = await twins.create('a', {}, HTTP);
    expect(twins.connection(state)).toEqual({ online: false, via: null, lastSeenAt: null });
  });

  it('is online after a device-contact patch and offline once livenessMs has passed', async () => {
    const { twins, clock } = await setup({ livenessMs: 60_000 });
    await twins.create('a', {}, HTTP);
    const { state } = await twins.patch('a', { reported: { t: 1 } }, DEVICE);
    const seenAt = new Date(clock.t).toISOString();
    expect(state).toMatchObject({ lastSeenAt: seenAt, lastSeenVia: 'coap' });
    expect(twins.connection(state)).toEqual({ online: true, via: 'coap', lastSeenAt: seenAt });
    clock.t += 59_999;
    expect(twins.connection(state).online).toBe(true);
    clock.t += 2;
    expect(twins.connection(state)).toEqual({ online: false, via: 'coap', lastSeenAt: seenAt });
  });

  it('does not count an integrator write as device contact', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const { state } = await twins.patch('a', { desired: { t: 1 } }, HTTP);
    expect(twins.connection(state).online).toBe(false);
    expect(state.lastSeenAt).toBeNull();
  });

  it('counts a no-op device patch and a device read as contact', async () => {
    const { twins, clock } = await setup({ livenessMs: 1000 });
    await twins.create('a', {}, HTTP);
    await twins.patch('a', { reported: { t: 1 } }, DEVICE);
    clock.t += 5000;
    const noop = await twins.patch('a', { reported: { t: 1 } }, { via: 'http', deviceContact: true });
    expect(noop.event).toBeNull();
    expect(twins.connection(noop.state)).toMatchObject({ online: true, via: 'http' });
    clock.t += 5000;
    const read = await twins.touch('a', 'ws');
    expect(twins.connection(read)).toMatchObject({ online: true, via: 'ws' });
  });

  it('is online while attachDevice is held, and the actor cannot be passivated then', async () => {
    const { twins, clock } = await setup({ livenessMs: 1000, idleMs: 1000 });
    const { state } = await twins.create('a', {}, HTTP);
    const detach = await twins.attachDevice('a', 'coap');
    clock.t += 60_000;
    expect(twins.connection(state)).toMatchObject({ online: true, via: 'coap' });
    expect(twins.sweep()).toBe(0);
    expect(twins.stats.resident).toBe(1);

    detach();
    expect(twins.connection(state)).toEqual({ online: true, via: 'coap', lastSeenAt: new Date(clock.t).toISOString() });
    clock.t += 1001;
    expect(twins.connection(state).online).toBe(false);
    expect(twins.sweep()).toBe(1);
    expect(twins.stats.resident).toBe(0);
  });

  it('detaching twice counts once', async () => {
    const { twins, clock } = await setup({ livenessMs: 1000, idleMs: 1000 });
    const { state } = await twins.create('a', {}, HTTP);
    const first = await twins.attachDevice('a', 'ws');
    const second = await twins.attachDevice('a', 'ws');
    first();
    first();
    clock.t += 5000;
    expect(twins.connection(state).online).toBe(true);
    expect(twins.sweep()).toBe(0);
    second();
    clock.t += 5000;
    expect(twins.connection(state).online).toBe(false);
    expect(twins.sweep()).toBe(1);
  });

  it('uses the persisted contact for a twin whose actor was passivated', async () => {
    const { twins, clock, store } = await setup({ livenessMs: 10_000, idleMs: 1000 });
    await twins.create('a', {}, HTTP);
    await twins.patch('a', { reported: { t: 1 } }, DEVICE);
    clock.t += 2000;
    expect(twins.sweep()).toBe(1);
    const stored = (await store.getTwin('a'))!;
    expect(twins.connection(stored)).toMatchObject({ online: true, via: 'coap' });
    clock.t += 10_000;
    expect(twins.connection(stored).online).toBe(false);
  });
});

describe('TwinService actor lifecycle', () => {
  it('keeps a twin\'s state across passivation and reactivation', async () => {
    const { twins, clock } = await setup({ idleMs: 1000 });
    await twins.create('a', { desired: { x: 1 } }, HTTP);
    await twins.patch('a', { reported: { x: 1 } }, HTTP);
    const before = await twins.get('a');
    clock.t += 2000;
    expect(twins.sweep()).toBe(1);
    expect(await twins.get('a')).toEqual(before);
    expect((await twins.patch('a', { desired: { x: 2 } }, HTTP)).state.version).toBe(3);
    expect(twins.stats).toMatchObject({ activated: 2, passivated: 1 });
  });

  it('holds a twin it loads from the store in compact form, and reports each load to onActivation', async () => {
    const loads: number[] = [];
    const { twins, store, clock } = await setup({ idleMs: 1000, onActivation: (seconds) => loads.push(seconds) });
    await twins.create('a', { desired: { x: 1, y: 2 } }, HTTP); // a first lookup finds nothing: one load
    expect(loads).toHaveLength(1);
    clock.t += 2000;
    twins.sweep();
    const state = await twins.get('a');
    await twins.get('a'); // resident: no load
    await expect(twins.get('missing')).rejects.toMatchObject({ code: 'not_found' });
    expect(loads).toHaveLength(3);
    expect(loads.every((s) => s >= 0 && s < 60)).toBe(true);
    // Compacted on load (a created twin's empty reported is its own object, never frozen).
    expect(state).toEqual(await store.getTwin('a'));
    expect(Object.isFrozen(state.reported)).toBe(true);
  });

  it('gives concurrent patches consecutive versions even when the resident cap is reached', async () => {
    const { twins, versionsOf } = await setup({ maxResident: 1 });
    await twins.create('pinned', {}, HTTP);
    await twins.create('a', {}, HTTP);
    const detach = await twins.attachDevice('pinned', 'coap'); // 'pinned' may not be evicted
    const results = await Promise.all(range(0, 19).map((i) => twins.patch('a', { desired: { i } }, HTTP)));
    detach();
    expect(results.map((r) => r.state.version)).toEqual(range(2, 21));
    expect(versionsOf('a')).toEqual(range(1, 21));
    expect((await twins.get('a')).version).toBe(21);
  });

  it('drain() refuses new requests with unavailable after in-flight ones finish', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const inFlight = Promise.all(range(0, 9).map((i) => twins.patch('a', { desired: { i } }, HTTP)));
    await twins.drain();
    expect(twins.stats.pending).toBe(0);
    expect((await inFlight).map((r) => r.state.version)).toEqual(range(2, 11));
    expect((await errorOf(twins.get('a'))).code).toBe('unavailable');
  });

  it('list() serves committed twins from the store in id order', async () => {
    const { twins } = await setup();
    for (const id of ['c', 'a', 'b']) await twins.create(id, {}, HTTP);
    const ids: string[] = [];
    for await (const t of twins.list({})) ids.push(t.id);
    expect(ids).toEqual(['a', 'b', 'c']);
  });
});

describe('TwinService listener isolation', () => {
  it('reports a throwing subscriber and still answers the write', async () => {
    const reported: unknown[] = [];
    const { twins } = await setup({ onListenerError: (err) => reported.push(err) });
    await twins.create('a', {}, HTTP);
    const { unsubscribe } = await twins.subscribe('a', () => { throw new Error('bad subscriber'); });
    const { state } = await twins.patch('a', { desired: { x: 1 } }, HTTP);
    expect(state.version).toBe(2);
    expect(reported).toHaveLength(1);
    unsubscribe();
  });

  it('subscribe() answers the state at the cut and then exactly the later changes', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const writes = range(0, 9).map((i) => twins.patch('a', { desired: { i } }, HTTP));
    const seen: number[] = [];
    const sub = twins.subscribe('a', (n) => { if (n.type === 'change') seen.push(n.event.version); });
    const more = range(10, 19).map((i) => twins.patch('a', { desired: { i } }, HTTP));
    const { state, unsubscribe } = await sub;
    await Promise.all([...writes, ...more]);
    expect(seen).toEqual(range(state.version + 1, 21));
    unsubscribe();
  });
});
