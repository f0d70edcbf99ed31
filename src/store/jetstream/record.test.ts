import { describe, expect, it } from 'vitest';
import { sampleEvent, sampleTwin } from '../store-suite.ts';
import { EMPTY_HEAD, foldHistory, headOf, indexEntryOf, indexHeadersOf, planRecord } from './record.ts';
import type { TwinRecord } from './record.ts';

const at = '2026-01-01T00:00:00.000Z';

describe('planRecord()', () => {
  it('carries the new snapshot and its event in one record', () => {
    const twin = sampleTwin('a', { pendingSince: at });
    const record = planRecord(EMPTY_HEAD, [{ type: 'putTwin', twin }, { type: 'putEvent', event: sampleEvent('a', 1) }, { type: 'putPending', twin: 'a', since: at }]);
    expect(record).toEqual({ state: twin, pending: at, floor: 0, top: 1, events: [sampleEvent('a', 1)], reset: false });
  });

  it('trims history from the bottom: deleting version v raises the floor to v', () => {
    const head = { ...EMPTY_HEAD, state: sampleTwin('a', { version: 5 }), top: 5 };
    const record = planRecord(head, [{ type: 'putTwin', twin: sampleTwin('a', { version: 6 }) }, { type: 'putEvent', event: sampleEvent('a', 6) }, { type: 'deleteEvent', twin: 'a', version: 3 }]);
    expect(record).toMatchObject({ floor: 3, top: 6 });
  });

  it('turns a commit that empties the twin into a reset tombstone', () => {
    const head = { state: sampleTwin('a', { version: 2 }), pending: at, floor: 0, top: 2 };
    const ops = [{ type: 'deleteTwin', id: 'a' }, { type: 'deleteEvent', twin: 'a', version: 1 }, { type: 'deleteEvent', twin: 'a', version: 2 }, { type: 'deletePending', twin: 'a', since: at }] as const;
    expect(planRecord(head, [...ops])).toEqual({ ...EMPTY_HEAD, events: [], reset: true });
  });

  it('writes nothing when deleting what is not there', () => {
    expect(planRecord(EMPTY_HEAD, [{ type: 'deleteTwin', id: 'a' }])).toBeNull();
  });

  it('removes a pending entry only when its since matches', () => {
    const head = { ...EMPTY_HEAD, state: sampleTwin('a'), pending: at };
    expect(planRecord(head, [{ type: 'deletePending', twin: 'a', since: '2026-02-02T00:00:00.000Z' }])?.pending).toBe(at);
    expect(planRecord(head, [{ type: 'deletePending', twin: 'a', since: at }])?.pending).toBeNull();
  });
});

describe('foldHistory()', () => {
  const record = (over: Partial<TwinRecord>): TwinRecord => ({ ...EMPTY_HEAD, events: [], reset: false, ...over });

  it('answers the events above the latest floor, once per version, ascending', () => {
    const records = [record({ events: [sampleEvent('a', 1), sampleEvent('a', 2)] }), record({ events: [sampleEvent('a', 3)], floor: 1 })];
    expect(foldHistory(records).map((e) => e.version)).toEqual([2, 3]);
  });

  it('forgets what came before a reset', () => {
    const records = [record({ events: [sampleEvent('a', 1)] }), record({ reset: true }), record({ events: [sampleEvent('a', 1, { via: 'coap' })] })];
    expect(foldHistory(records)).toEqual([sampleEvent('a', 1, { via: 'coap' })]);
  });

  it('headOf() keeps the head and drops the events', () => {
    expect(headOf(record({ events: [sampleEvent('a', 1)], top: 1 }))).toEqual({ ...EMPTY_HEAD, top: 1 });
  });
});

describe('the index headers of a record', () => {
  const read = (pairs: [string, string][]) => (name: string) => new Map(pairs).get(name) ?? '';

  it('carry whether the twin exists, its pending entry and a reset, and read back as such', () => {
    const live = planRecord(EMPTY_HEAD, [{ type: 'putTwin', twin: sampleTwin('a') }, { type: 'putPending', twin: 'a', since: at }])!;
    expect(indexEntryOf(read(indexHeadersOf(live)))).toEqual({ exists: true, pending: at, reset: false, commands: false, jobMarks: [] });
    const tomb = planRecord({ ...EMPTY_HEAD, state: sampleTwin('a') }, [{ type: 'deleteTwin', id: 'a' }])!;
    expect(indexEntryOf(read(indexHeadersOf(tomb)))).toEqual({ exists: false, pending: null, reset: true, commands: false, jobMarks: [] });
  });
});

describe('command records in the twin record', () => {
  const command = { id: '1', twin: 'a', name: 'reboot', payload: null, status: 'queued' as const, createdAt: at, updatedAt: at };

  it('keeps them in the head in id order, flags them in the index headers, and empties to a reset', () => {
    const first = planRecord(EMPTY_HEAD, [{ type: 'putCommand', command: { ...command, id: '2' } }, { type: 'putCommand', command }])!;
    expect(first.commands?.map((c) => c.id)).toEqual(['1', '2']);
    expect(indexEntryOf((name) => new Map(indexHeadersOf(first)).get(name) ?? '').commands).toBe(true);
    const second = planRecord(headOf(first), [{ type: 'deleteCommand', twin: 'a', id: '1' }])!;
    expect(second.commands?.map((c) => c.id)).toEqual(['2']);
    expect(planRecord(headOf(second), [{ type: 'deleteCommand', twin: 'a', id: '2' }])).toMatchObject({ reset: true });
  });
});


describe('job done-marks in the twin record', () => {
  const J1 = 'j-00000000-0000-4000-8000-000000000001';
  const J2 = 'j-00000000-0000-4000-8000-000000000002';

  it('ride with the change they mark, in id order, and show in the index headers', () => {
    const head = { ...EMPTY_HEAD, state: sampleTwin('a'), top: 1 };
    const marked = planRecord(head, [{ type: 'putTwin', twin: sampleTwin('a', { version: 2 }) }, { type: 'putEvent', event: sampleEvent('a', 2) }, { type: 'putJobMark', job: J2, twin: 'a' }, { type: 'putJobMark', job: J1, twin: 'a' }])!;
    expect(marked).toMatchObject({ state: { version: 2 }, jobMarks: [J1, J2] });
    expect(indexEntryOf((name) => new Map(indexHeadersOf(marked)).get(name) ?? '').jobMarks).toEqual([J1, J2]);
    const unmarked = planRecord(headOf(marked), [{ type: 'deleteJobMark', job: J1, twin: 'a' }])!;
    expect(unmarked).toMatchObject({ state: { version: 2 }, jobMarks: [J2], events: [] });
    expect(headOf(planRecord(headOf(unmarked), [{ type: 'deleteJobMark', job: J2, twin: 'a' }])!)).not.toHaveProperty('jobMarks');
  });

  it('go with the twin when it is deleted', () => {
    const head = { ...EMPTY_HEAD, state: sampleTwin('a'), jobMarks: [J1] };
    expect(planRecord(head, [{ type: 'deleteTwin', id: 'a' }])).toEqual({ ...EMPTY_HEAD, events: [], reset: true });
  });
});
