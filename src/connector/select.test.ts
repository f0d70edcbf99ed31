import { describe, expect, it } from 'vitest';
import { outboxOps, selectConnectors, toSelector } from './select.ts';
import type { OutgoingEvent } from './select.ts';
import type { StoredConnector } from '../store/types.ts';

function connector(over: Partial<StoredConnector>): StoredConnector {
  return { id: 'c', kind: 'webhook', prefix: null, filter: null, events: ['change'], maxAgeSeconds: 60, url: 'http://x', secret: 's'.repeat(16), createdAt: '2026-01-01T00:00:00.000Z', ...over };
}

function event(over: Partial<OutgoingEvent> = {}): OutgoingEvent {
  return { type: 'change', twinId: 'thermo-1', eventId: 'thermo-1:2', at: '2026-01-01T00:00:00.000Z', event: { twin: 'thermo-1', version: 2 }, twin: () => ({ id: 'thermo-1', reported: { temp: 31 } }), ...over };
}

describe('selectConnectors', () => {
  it('keeps connectors whose events, prefix and filter all match', () => {
    const selectors = [
      connector({ id: 'all' }),
      connector({ id: 'prefixed', prefix: 'thermo-' }),
      connector({ id: 'other-prefix', prefix: 'pump-' }),
      connector({ id: 'hot', filter: 'reported.temp > 30' }),
      connector({ id: 'cold', filter: 'reported.temp < 0' }),
      connector({ id: 'deletions-only', events: ['deleted'] }),
    ].map(toSelector);
    expect(selectConnectors(selectors, event())).toEqual(['all', 'prefixed', 'hot']);
    expect(selectConnectors(selectors, event({ type: 'deleted' }))).toEqual(['deletions-only']);
  });

  it('does not match a filtering connector when the twin is not at hand', () => {
    const selectors = [connector({ id: 'plain', events: ['command'] }), connector({ id: 'negated', events: ['command'], filter: 'not exists(tags.x)' })].map(toSelector);
    expect(selectConnectors(selectors, event({ type: 'command', twin: () => null }))).toEqual(['plain']);
  });

  it('does not build the twin view when no connector filters', () => {
    let built = 0;
    const selectors = [connector({ id: 'a' }), connector({ id: 'b', prefix: 'x' })].map(toSelector);
    selectConnectors(selectors, event({ twin: () => { built++; return {}; } }));
    expect(built).toBe(0);
  });

  it('builds the twin view once for many filters', () => {
    let built = 0;
    const selectors = [connector({ id: 'a', filter: 'id ~ "thermo-*"' }), connector({ id: 'b', filter: 'exists(reported.temp)' })].map(toSelector);
    expect(selectConnectors(selectors, event({ twin: () => { built++; return { id: 'thermo-1', reported: { temp: 1 } }; } }))).toEqual(['a', 'b']);
    expect(built).toBe(1);
  });
});

describe('outboxOps', () => {
  it('makes one entry per selected connector with that connector\'s next seq', () => {
    const seqs = new Map<string, number>([['a', 7]]);
    const next = (id: string) => { const n = (seqs.get(id) ?? -1) + 1; seqs.set(id, n); return n; };
    const ops = outboxOps([connector({ id: 'a' }), connector({ id: 'b' })].map(toSelector), event(), next);
    expect(ops).toEqual([
      { type: 'putOutbox', entry: expect.objectContaining({ connector: 'a', seq: 8, twin: 'thermo-1', eventId: 'thermo-1:2', type: 'change' }) },
      { type: 'putOutbox', entry: expect.objectContaining({ connector: 'b', seq: 0 }) },
    ]);
  });

  it('makes none when nothing matches', () => {
    expect(outboxOps([], event(), () => 0)).toEqual([]);
  });
});
