import { describe, expect, it } from 'vitest';
import { sampleEvent, sampleTwin } from '../store/store-suite.ts';
import { EMPTY_HEAD, planRecord } from '../store/jetstream/record.ts';
import type { StoredConnector } from '../store/types.ts';
import type { Command } from '../twin/commands.ts';
import { toSelector } from './select.ts';
import { deliveriesOf, TrimWatch } from './stream-events.ts';

const at = '2026-01-01T00:00:00.000Z';

function connector(over: Partial<StoredConnector>): StoredConnector {
  return { id: 'c', kind: 'webhook', prefix: null, filter: null, events: ['change', 'deleted', 'command'], maxAgeSeconds: 60, url: 'http://x', secret: 's'.repeat(16), createdAt: at, ...over };
}

describe('records as the outbox', () => {
  it('stores a deletion with its tombstone, atomically, and the twin the filter sees before it', () => {
    const head = { ...EMPTY_HEAD, state: sampleTwin('a', { version: 2, tags: { hot: true } }), top: 2 };
    const view = { id: 'a', tags: { hot: true } };
    const entry = { connector: 'any', seq: 0, twin: 'a', type: 'deleted' as const, eventId: 'a:2:deleted', at, event: { twin: 'a', version: 2, at }, view };
    const record = planRecord(head, [{ type: 'deleteTwin', id: 'a' }, { type: 'deleteEvent', twin: 'a', version: 2 }, { type: 'putOutbox', entry }])!;
    expect(record).toMatchObject({ reset: true, state: null, out: [{ type: 'deleted', eventId: 'a:2:deleted', view }] });
    expect(deliveriesOf('a', record, toSelector(connector({ filter: 'tags.hot == true' })))).toEqual([
      { connector: 'c', seq: 0, twin: 'a', type: 'deleted', eventId: 'a:2:deleted', at, event: { twin: 'a', version: 2, at } },
    ]);
    expect(deliveriesOf('a', record, toSelector(connector({ filter: 'tags.hot == false' })))).toEqual([]);
  });

  it('delivers a change filtered on the twin after it, then the record\'s other events, as the connector selects', () => {
    const record = planRecord({ ...EMPTY_HEAD, state: sampleTwin('pump-1'), top: 1 }, [
      { type: 'putTwin', twin: sampleTwin('pump-1', { version: 2, tags: { zone: 'n' } }) },
      { type: 'putEvent', event: sampleEvent('pump-1', 2) },
      { type: 'putOutbox', entry: { connector: 'any', seq: 0, twin: 'pump-1', type: 'command', eventId: 'pump-1:cmd:x:done', at, event: { id: 'x' } } },
    ])!;
    expect(deliveriesOf('pump-1', record, toSelector(connector({}))).map((e) => e.eventId)).toEqual(['pump-1:2', 'pump-1:cmd:x:done']);
    expect(deliveriesOf('pump-1', record, toSelector(connector({ filter: 'tags.zone == "n"', events: ['change'] }))).map((e) => e.eventId)).toEqual(['pump-1:2']);
    expect(deliveriesOf('pump-1', record, toSelector(connector({ filter: 'tags.zone == "s"' })))).toEqual([]);
    expect(deliveriesOf('pump-1', record, toSelector(connector({ prefix: 'thermo-' })))).toEqual([]);
  });

  it('names a command change\'s command rather than repeating it, and delivers it whole', () => {
    const command = { id: 'c1', twin: 'pump-1', name: 'reboot', status: 'pending', updatedAt: at } as unknown as Command;
    const record = planRecord({ ...EMPTY_HEAD, state: sampleTwin('pump-1'), top: 1 }, [
      { type: 'putCommand', command },
      { type: 'putOutbox', entry: { connector: 'any', seq: 0, twin: 'pump-1', type: 'command', eventId: 'pump-1:cmd:c1:pending', at, event: structuredClone(command) } },
    ])!;
    expect(record.out).toEqual([{ type: 'command', eventId: 'pump-1:cmd:c1:pending', at, command: 'c1' }]);
    expect(deliveriesOf('pump-1', record, toSelector(connector({ events: ['command'] })))).toEqual([
      { connector: 'c', seq: 0, twin: 'pump-1', type: 'command', eventId: 'pump-1:cmd:c1:pending', at, event: command },
    ]);
  });

  it('leaves records without connector events as they were', () => {
    const record = planRecord(EMPTY_HEAD, [{ type: 'putTwin', twin: sampleTwin('a') }, { type: 'putEvent', event: sampleEvent('a', 1) }])!;
    expect(record).not.toHaveProperty('out');
  });
});

describe('TrimWatch', () => {
  const change = (twin: string, ...versions: number[]) => ({ ...EMPTY_HEAD, events: versions.map((v) => sampleEvent(twin, v)), reset: false });

  it('counts the versions a twin jumped over, for connectors that take them', () => {
    const watch = new TrimWatch();
    const all = toSelector(connector({}));
    expect(watch.missed('a', change('a', 3), all)).toBe(0); // first seen: nothing known before
    expect(watch.missed('a', change('a', 4), all)).toBe(0);
    expect(watch.missed('a', change('a', 9, 10), all)).toBe(4);
    expect(watch.missed('a', change('a', 2), all)).toBe(0); // replayed after a takeover
    expect(watch.missed('b', change('b', 1), toSelector(connector({ prefix: 'x' })))).toBe(0);
    expect(watch.missed('b', change('b', 5), toSelector(connector({ prefix: 'x' })))).toBe(0);
  });

  it('starts a twin afresh after its tombstone', () => {
    const watch = new TrimWatch();
    const all = toSelector(connector({}));
    watch.missed('a', change('a', 7), all);
    expect(watch.missed('a', { ...EMPTY_HEAD, events: [], reset: true }, all)).toBe(0);
    expect(watch.missed('a', change('a', 1), all)).toBe(0);
  });
});
