import { describe, it, expect } from 'vitest';
import type { TwinService } from '../../actors/index.ts';
import type { ChangeEvent, TwinState } from '../../src/twin/types.ts';
import type { Outbox } from './backlog.ts';
import { Feeds } from './feeds.ts';

function setup() {
  const sent: Record<string, unknown>[] = [];
  const outbox = { send: (frame: string) => { sent.push(JSON.parse(frame) as Record<string, unknown>); return true; } } as unknown as Outbox;
  const twins = { connection: () => ({ online: false, via: null, lastSeenAt: null }) } as unknown as TwinService;
  return { sent, feeds: new Feeds(outbox, twins) };
}

const state = (id: string, version: number): TwinState => ({
  id, version, desired: {}, reported: {}, delta: {}, tags: {}, metadata: { desired: {}, reported: {} },
  pendingSince: null, lastSeenAt: null, lastSeenVia: null, tokenId: null, createdAt: 't', updatedAt: 't',
});
const event = (twin: string, version: number): ChangeEvent => ({ twin, version, at: 't', via: 'http', patch: {}, delta: {} });
const summary = (sent: Record<string, unknown>[]) => sent.map((m) => m.op === 'change'
  ? `change ${(m.event as ChangeEvent).version}`
  : m.op === 'snapshot' ? `snapshot ${(m.twin as TwinState).version}` : `${m.op as string}`);

describe('Feeds', () => {
  it('delivers each version of a twin once, whichever subscription offers it first', () => {
    const { sent, feeds } = setup();
    feeds.snapshot(state('a', 3), false);
    feeds.change(event('a', 3));
    feeds.change(event('a', 4));
    feeds.snapshot(state('a', 4), false);
    feeds.change(event('a', 4));
    feeds.change(event('a', 5));
    expect(summary(sent)).toEqual(['snapshot 3', 'change 4', 'change 5']);
  });

  it('after resumeAt delivers only later changes, and a resync snapshot still replaces older state', () => {
    const { sent, feeds } = setup();
    feeds.resumeAt('a', 7);
    feeds.change(event('a', 7));
    feeds.change(event('a', 8));
    feeds.resumeAt('a', 2);
    feeds.snapshot(state('a', 10), true);
    expect(summary(sent)).toEqual(['change 8', 'snapshot 10']);
    expect(sent[1]).toMatchObject({ resync: true });
  });

  it('sends deleted once and starts a recreated twin over', () => {
    const { sent, feeds } = setup();
    feeds.snapshot(state('a', 2), false);
    feeds.deleted('a');
    feeds.deleted('a');
    expect(feeds.has('a')).toBe(false);
    feeds.snapshot(state('a', 1), false);
    expect(summary(sent)).toEqual(['snapshot 2', 'deleted', 'snapshot 1']);
  });
});
