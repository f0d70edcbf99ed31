import { describe, expect, it, vi } from 'vitest';
import type { DoppelError } from '../src/errors.ts';
import { createMemoryStore } from '../src/store/memory-store.ts';
import { DEFAULT_LIMITS } from '../src/twin/types.ts';
import type { ChangeFeed } from './change-feed.ts';
import { EventBus } from './event-bus.ts';
import { Positions } from './positions.ts';
import { StreamCloser } from './stream-closer.ts';
import { openTwinStream } from './stream.ts';
import type { StreamItem } from './stream.ts';
import { TwinService } from './twins.ts';
import type { WriteContext } from './twins.ts';

const HTTP: WriteContext = { via: 'http' };
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

async function setup(historyRetention = 1000, feed?: ChangeFeed) {
  const store = createMemoryStore();
  await store.open();
  const credentials = {
    mintDeviceCredential: () => Promise.reject(new Error('not used')),
    forget: vi.fn(),
  };
  const twins = new TwinService({
    store, credentials, limits: DEFAULT_LIMITS, historyRetention, livenessMs: 60_000,
    maxResident: 1000, idleMs: 300_000, maxPendingPerTwin: 100_000,
    now: () => new Date('2026-11-23T10:00:00.000Z'), ...(feed === undefined ? {} : { feed }),
  });
  return { twins, store };
}

/** A twin at `version` (created, then patched). */
async function twinAt(twins: TwinService, id: string, version: number): Promise<void> {
  await twins.create(id, {}, HTTP);
  for (let v = 2; v <= version; v++) await twins.patch(id, { desired: { v } }, HTTP);
}

async function errorOf(p: Promise<unknown>): Promise<DoppelError> {
  try { await p; } catch (err) { return err as DoppelError; }
  throw new Error('expected a rejection');
}

/**
 * Checks that `items` cover a twin's versions exactly once and in order up to `last`: an optional
 * snapshot first (nothing after it may be a snapshot), then change events with consecutive
 * versions from the snapshot's version (or `since`) + 1.
 */
function expectGapless(items: StreamItem[], since: number | undefined, last: number): { snapshot: number | null } {
  let start = since;
  let snapshot: number | null = null;
  const rest = [...items];
  if (rest[0]?.type === 'snapshot') {
    snapshot = rest[0].state.version;
    start = snapshot;
    rest.shift();
  }
  expect(start).toBeDefined();
  expect(rest.every((i) => i.type === 'change')).toBe(true);
  const versions = rest.map((i) => (i.type === 'change' ? i.event.version : -1));
  expect(versions).toEqual(range(start! + 1, last));
  return { snapshot };
}

describe('openTwinStream() without since', () => {
  it('starts with a snapshot of the current state, then forwards live changes', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'a', 3);
    const items: StreamItem[] = [];
    const unsubscribe = await openTwinStream(twins, 'a', {}, (item) => items.push(item));
    expect(items).toEqual([{ type: 'snapshot', state: await twins.get('a'), resync: false }]);
    const { state, event } = await twins.patch('a', { reported: { x: 1 } }, HTTP);
    expect(items[1]).toEqual({ type: 'change', event, state });
    unsubscribe();
  });
});

describe('openTwinStream() with since', () => {
  it('replays exactly the missed events from history, then goes live', async () => {
    const { twins, store } = await setup();
    await twinAt(twins, 'a', 6);
    const items: StreamItem[] = [];
    const unsubscribe = await openTwinStream(twins, 'a', { since: 3 }, (item) => items.push(item));
    const stored = await store.readHistory('a', { after: 3, limit: 10 });
    expect(items).toEqual(stored.map((event) => ({ type: 'change', event })));
    await twins.patch('a', { desired: { v: 7 } }, HTTP);
    expectGapless(items, 3, 7);
    unsubscribe();
  });

  it('replays the whole history from since 0, creation event included', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'a', 4);
    const items: StreamItem[] = [];
    const unsubscribe = await openTwinStream(twins, 'a', { since: 0 }, (item) => items.push(item));
    expectGapless(items, 0, 4);
    unsubscribe();
  });

  it('sends nothing until the next change when since is the current version', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'a', 4);
    const items: StreamItem[] = [];
    const unsubscribe = await openTwinStream(twins, 'a', { since: 4 }, (item) => items.push(item));
    expect(items).toEqual([]);
    await twins.patch('a', { desired: { v: 5 } }, HTTP);
    expectGapless(items, 4, 5);
    unsubscribe();
  });

  it('sends a resync snapshot when the missed events were trimmed from history', async () => {
    const { twins } = await setup(3);
    await twinAt(twins, 'a', 10);
    const items: StreamItem[] = [];
    const unsubscribe = await openTwinStream(twins, 'a', { since: 2 }, (item) => items.push(item));
    expect(items).toEqual([{ type: 'snapshot', state: await twins.get('a'), resync: true }]);
    await twins.patch('a', { desired: { v: 11 } }, HTTP);
    expectGapless(items, undefined, 11);
    unsubscribe();
  });

  it('replays when the missed events are exactly the retained ones', async () => {
    const { twins } = await setup(3);
    await twinAt(twins, 'a', 10);
    const items: StreamItem[] = [];
    const unsubscribe = await openTwinStream(twins, 'a', { since: 7 }, (item) => items.push(item));
    expectGapless(items, 7, 10);
    expect(items.some((i) => i.type === 'snapshot')).toBe(false);
    unsubscribe();
  });

  it('sends a resync snapshot when since is ahead of the twin', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'a', 2);
    const items: StreamItem[] = [];
    const unsubscribe = await openTwinStream(twins, 'a', { since: 50 }, (item) => items.push(item));
    expect(items).toEqual([{ type: 'snapshot', state: await twins.get('a'), resync: true }]);
    unsubscribe();
  });
});

describe('openTwinStream() racing with changes', () => {
  const cases: Array<{ since: number | undefined; openAfter: number; retention?: number }> = [
    { since: undefined, openAfter: 0 },
    { since: undefined, openAfter: 100 },
    { since: undefined, openAfter: 199 },
    { since: 0, openAfter: 100 },
    { since: 1, openAfter: 0 },
    { since: 1, openAfter: 100 },
    { since: 37, openAfter: 150 },
    { since: 1, openAfter: 100, retention: 10 },
    { since: 95, openAfter: 100, retention: 10 },
  ];
  for (const { since, openAfter, retention } of cases) {
    it(`delivers every version exactly once, in order (since ${since}, opened after ${openAfter} of 200 patches${retention === undefined ? '' : `, retention ${retention}`})`, async () => {
      const { twins } = await setup(retention ?? 1000);
      await twins.create('a', {}, HTTP);
      const writes = range(1, openAfter).map((i) => twins.patch('a', { desired: { i } }, HTTP));
      const items: StreamItem[] = [];
      const opening = openTwinStream(twins, 'a', since === undefined ? {} : { since }, (item) => items.push(item));
      writes.push(...range(openAfter + 1, 200).map((i) => twins.patch('a', { desired: { i } }, HTTP)));
      await Promise.all(writes);
      const unsubscribe = await opening;
      const { snapshot } = expectGapless(items, since, 201);
      if (since !== undefined && retention === undefined) expect(snapshot).toBeNull();
      unsubscribe();
    });
  }

  it('delivers every version exactly once to many streams opened while the twin is being written', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const writes: Array<Promise<unknown>> = [];
    const streams: Array<{ since: number | undefined; items: StreamItem[]; opening: Promise<() => void> }> = [];
    for (let i = 1; i <= 100; i++) {
      writes.push(twins.patch('a', { reported: { i } }, HTTP));
      if (i % 10 === 0) {
        const items: StreamItem[] = [];
        const since = i % 20 === 0 ? undefined : i / 2;
        streams.push({ since, items, opening: openTwinStream(twins, 'a', since === undefined ? {} : { since }, (item) => items.push(item)) });
      }
    }
    await Promise.all(writes);
    for (const s of streams) {
      (await s.opening)();
      expectGapless(s.items, s.since, 101);
    }
  });
});

describe('openTwinStream() edge cases', () => {
  it('calls onOverflow once when live changes outgrow the buffer during replay', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const onOverflow = vi.fn();
    const items: StreamItem[] = [];
    // The stream subscribes first; these patches then queue ahead of its history read.
    const opening = openTwinStream(twins, 'a', { since: 0, maxBuffered: 3, onOverflow }, (item) => items.push(item));
    const writes = range(1, 10).map((i) => twins.patch('a', { desired: { i } }, HTTP));
    await Promise.all(writes);
    const unsubscribe = await opening;
    expect(onOverflow).toHaveBeenCalledTimes(1);
    unsubscribe();
  });

  it('does not call onOverflow while the buffer suffices', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const onOverflow = vi.fn();
    const items: StreamItem[] = [];
    const opening = openTwinStream(twins, 'a', { since: 0, maxBuffered: 10, onOverflow }, (item) => items.push(item));
    await Promise.all(range(1, 10).map((i) => twins.patch('a', { desired: { i } }, HTTP)));
    (await opening)();
    expect(onOverflow).not.toHaveBeenCalled();
    expectGapless(items, 0, 11);
  });

  it('forwards the deletion of the twin', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const items: StreamItem[] = [];
    const unsubscribe = await openTwinStream(twins, 'a', {}, (item) => items.push(item));
    await twins.remove('a');
    expect(items.at(-1)).toEqual({ type: 'deleted', twin: 'a' });
    unsubscribe();
  });

  it('stops delivering after unsubscribe', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const items: StreamItem[] = [];
    const unsubscribe = await openTwinStream(twins, 'a', {}, (item) => items.push(item));
    unsubscribe();
    await twins.patch('a', { desired: { x: 1 } }, HTTP);
    expect(items).toHaveLength(1);
    expect(twins.feed.listenerCount('a')).toBe(0);
  });

  it('rejects with not_found for a missing twin and leaves no listener behind', async () => {
    const { twins } = await setup();
    const sink = vi.fn();
    expect((await errorOf(openTwinStream(twins, 'nope', {}, sink))).code).toBe('not_found');
    expect((await errorOf(openTwinStream(twins, 'bad id', {}, sink))).code).toBe('invalid_request');
    expect(sink).not.toHaveBeenCalled();
    expect(twins.feed.listenerCount('nope')).toBe(0);
  });

  it('leaves no listener behind when the twin is deleted while history replays', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'a', 2);
    const opening = openTwinStream(twins, 'a', { since: 0 }, () => {});
    const removing = twins.remove('a'); // queued between the subscription and the history read
    await removing;
    expect((await errorOf(opening)).code).toBe('not_found');
    expect(twins.feed.listenerCount('a')).toBe(0);
  });
});

describe('openTwinStream() options', () => {
  it('holds a device attachment while open (`attach`): the twin is online via that edge', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const close = await openTwinStream(twins, 'a', { attach: 'coap' }, () => {});
    expect(twins.connection(await twins.get('a'))).toMatchObject({ online: true, via: 'coap' });
    close();
    close(); // closing twice detaches once
    expect(twins.feed.listenerCount('a')).toBe(0);
  });

  it('releases the attachment when the twin is missing', async () => {
    const { twins } = await setup();
    expect((await errorOf(openTwinStream(twins, 'nope', { attach: 'ws' }, () => {}))).code).toBe('not_found');
    expect(twins.stats.resident).toBe(0);
  });

  it('delivers nothing and holds nothing when its closer closes while it opens', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'a', 3);
    const closer = new StreamCloser();
    const items: StreamItem[] = [];
    const opening = openTwinStream(twins, 'a', { closer }, (item) => items.push(item));
    closer.close();
    await opening;
    await twins.patch('a', { desired: { x: 1 } }, HTTP);
    expect(items).toEqual([]);
    expect(twins.feed.listenerCount('a')).toBe(0);
  });

  it('closes when its closer closes after opening', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const closer = new StreamCloser();
    const items: StreamItem[] = [];
    await openTwinStream(twins, 'a', { closer }, (item) => items.push(item));
    closer.close();
    await twins.patch('a', { desired: { x: 1 } }, HTTP);
    expect(items.map((i) => i.type)).toEqual(['snapshot']);
    expect(twins.feed.listenerCount('a')).toBe(0);
  });

  it('ends at the deletion (`onEnd`): a twin recreated under the id is not followed', async () => {
    const { twins } = await setup();
    await twins.create('a', {}, HTTP);
    const items: StreamItem[] = [];
    const onEnd = vi.fn();
    const close = await openTwinStream(twins, 'a', { onEnd }, (item) => items.push(item));
    await twins.remove('a');
    await twins.create('a', {}, HTTP);
    expect(items.map((i) => i.type)).toEqual(['snapshot', 'deleted']);
    expect(onEnd).toHaveBeenCalledTimes(1);
    close();
  });

  it('skips what a shared `positions` already delivered (overlapping streams of one consumer)', async () => {
    const { twins } = await setup();
    await twinAt(twins, 'a', 3);
    const positions = new Positions();
    const items: StreamItem[] = [];
    const first = await openTwinStream(twins, 'a', { positions }, (item) => items.push(item));
    const second = await openTwinStream(twins, 'a', { positions, since: 1 }, (item) => items.push(item));
    await twins.patch('a', { desired: { x: 1 } }, HTTP);
    expectGapless(items, undefined, 4);
    first();
    second();
  });

  it('delivers each version once from a feed that redelivers notices (as a cluster feed may)', async () => {
    const bus = new EventBus();
    const redelivering: ChangeFeed = {
      subscribe: (twin, listener) => bus.subscribe(twin, listener),
      subscribePrefix: (prefix, listener) => bus.subscribePrefix(prefix, listener),
      publish: (notice) => { bus.publish(notice); bus.publish(notice); },
      listenerCount: (twin) => bus.listenerCount(twin),
    };
    const { twins } = await setup(1000, redelivering);
    await twins.create('a', {}, HTTP);
    const items: StreamItem[] = [];
    const opening = openTwinStream(twins, 'a', { since: 0 }, (item) => items.push(item));
    await Promise.all(range(1, 20).map((i) => twins.patch('a', { desired: { i } }, HTTP)));
    (await opening)();
    expectGapless(items, 0, 21);
  });
});
