import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { ChangeEvent, TwinState } from '../src/twin/types.ts';
import { Positions } from './positions.ts';
import { offer } from './stream.ts';
import type { StreamItem } from './stream.ts';

/** A consumer behind one `Positions`: what reached its sink, summarized. */
function setup() {
  const sent: StreamItem[] = [];
  const positions = new Positions();
  const sink = (item: StreamItem) => { sent.push(item); };
  return {
    sent, positions,
    snapshot: (s: TwinState, resync: boolean) => offer(positions, { type: 'snapshot', state: s, resync }, sink),
    change: (e: ChangeEvent) => offer(positions, { type: 'change', event: e }, sink),
    deleted: (twin: string) => offer(positions, { type: 'deleted', twin }, sink),
  };
}

const state = (id: string, version: number): TwinState => ({
  id, version, desired: {}, reported: {}, delta: {}, tags: {}, metadata: { desired: {}, reported: {} },
  pendingSince: null, lastSeenAt: null, lastSeenVia: null, tokenId: null, createdAt: 't', updatedAt: 't',
});
const event = (twin: string, version: number): ChangeEvent => ({ twin, version, at: 't', via: 'http', patch: {}, delta: {} });
const summary = (sent: StreamItem[]) => sent.map((m) => m.type === 'change'
  ? `change ${m.event.version}`
  : m.type === 'snapshot' ? `snapshot ${m.state.version}` : m.type);

describe('Positions with offer()', () => {
  it('delivers each version of a twin once, whichever stream offers it first', () => {
    const { sent, snapshot, change } = setup();
    snapshot(state('a', 3), false);
    change(event('a', 3));
    change(event('a', 4));
    snapshot(state('a', 4), false);
    change(event('a', 4));
    change(event('a', 5));
    expect(summary(sent)).toEqual(['snapshot 3', 'change 4', 'change 5']);
  });

  it('after resumeAt delivers only later changes, and a resync snapshot still replaces older state', () => {
    const { sent, positions, snapshot, change } = setup();
    positions.resumeAt('a', 7);
    change(event('a', 7));
    change(event('a', 8));
    positions.resumeAt('a', 2);
    snapshot(state('a', 10), true);
    expect(summary(sent)).toEqual(['change 8', 'snapshot 10']);
    expect(sent[1]).toMatchObject({ resync: true });
  });

  it('sends deleted once and starts a recreated twin over', () => {
    const { sent, positions, snapshot, deleted } = setup();
    snapshot(state('a', 2), false);
    deleted('a');
    deleted('a');
    expect(positions.has('a')).toBe(false);
    snapshot(state('a', 1), false);
    expect(summary(sent)).toEqual(['snapshot 2', 'deleted', 'snapshot 1']);
  });

  it('forgets the twins a test picks, so they start over with a snapshot', () => {
    const { sent, positions, snapshot } = setup();
    snapshot(state('a:1', 2), false);
    snapshot(state('b:1', 2), false);
    positions.forgetWhere((twin) => twin.startsWith('a:'));
    snapshot(state('a:1', 2), false);
    snapshot(state('b:1', 2), false);
    expect(summary(sent)).toEqual(['snapshot 2', 'snapshot 2', 'snapshot 2']);
    expect(positions.size).toBe(2);
  });
});

describe('Positions laws', () => {
  const offered = fc.array(fc.record({
    kind: fc.constantFrom('snapshot', 'change', 'change', 'change', 'deleted'),
    twin: fc.constantFrom('a', 'b', 'c'),
    version: fc.integer({ min: 1, max: 12 }),
  }), { maxLength: 80 });

  it('whatever is offered, in any order and repeated, each twin gets strictly ascending versions between deletions', () => {
    fc.assert(fc.property(offered, (items) => {
      const { sent, snapshot, change, deleted } = setup();
      for (const i of items) {
        if (i.kind === 'snapshot') snapshot(state(i.twin, i.version), false);
        else if (i.kind === 'change') change(event(i.twin, i.version));
        else deleted(i.twin);
      }
      const last = new Map<string, number>();
      for (const item of sent) {
        if (item.type === 'deleted') {
          // Only a twin the consumer had is reported deleted, and only once.
          expect(last.has(item.twin)).toBe(true);
          last.delete(item.twin);
          continue;
        }
        const twin = item.type === 'snapshot' ? item.state.id : item.event.twin;
        const version = item.type === 'snapshot' ? item.state.version : item.event.version;
        expect(version).toBeGreaterThan(last.get(twin) ?? 0);
        last.set(twin, version);
      }
    }));
  });
});
