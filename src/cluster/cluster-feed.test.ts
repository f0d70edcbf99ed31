import { describe, expect, it } from 'vitest';
import type { TwinNotice } from '../../actors/change-feed.ts';
import type { ChangeEvent, TwinState } from '../twin/types.ts';
import type { TwinRecord } from '../store/jetstream/index.ts';
import { ClusterFeed } from './cluster-feed.ts';

const event = (version: number) => ({ twin: 't1', version, at: '2026-01-01T00:00:00.000Z', via: 'http', patch: {}, delta: {} }) as unknown as ChangeEvent;
const record = (over: Partial<TwinRecord>): TwinRecord => ({ state: { id: 't1', version: 1 } as unknown as TwinState, pending: null, floor: 0, top: 1, events: [], reset: false, ...over });

describe('ClusterFeed', () => {
  it('turns each event of a stream record into a change notice, a tombstone into a delete, to twin and prefix listeners', () => {
    const feed = new ClusterFeed();
    const byTwin: TwinNotice[] = [];
    const byPrefix: TwinNotice[] = [];
    feed.subscribe('t1', (n) => byTwin.push(n));
    feed.subscribePrefix('t', (n) => byPrefix.push(n));
    feed.deliver('t1', record({ events: [event(1)] }));
    feed.deliver('t1', record({ events: [] })); // a token change: no event, no notice
    feed.deliver('t1', record({ state: null, reset: true }));
    expect(byTwin.map((n) => (n.type === 'change' ? n.event.version : n.type))).toEqual([1, 'deleted']);
    expect(byPrefix).toEqual(byTwin);
  });

  it('ignores local publishes: local commits arrive through the stream once', () => {
    const feed = new ClusterFeed();
    const seen: TwinNotice[] = [];
    feed.subscribe('t1', (n) => seen.push(n));
    feed.publish({ type: 'change', event: event(1), state: record({}).state! });
    expect(seen).toEqual([]);
    expect(feed.listenerCount('t1')).toBe(1);
  });
});
