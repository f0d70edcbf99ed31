import { describe, expect, it } from 'vitest';
import type { DoppelError } from '../errors.ts';
import { planCreate } from './document.ts';
import { DEFAULT_LIMITS } from './types.ts';
import type { Connection, PublicTwin } from './types.ts';
import { selectFields, toDeviceView, toPublicTwin, TWIN_FIELDS } from './views.ts';

const T0 = '2026-11-23T10:00:00.000Z';
const offline: Connection = { online: false, via: null, lastSeenAt: null };

function thrown(fn: () => unknown): DoppelError {
  try { fn(); } catch (err) { return err as DoppelError; }
  throw new Error('expected a throw');
}

function twin(desired: Record<string, unknown> = { temp: 21, room: { name: 'lab', floor: 2 }, list: [{ a: 1 }] }): PublicTwin {
  const { state } = planCreate('thermo-42', { desired, tags: { site: 'berlin' } }, { now: T0, via: 'http', limits: DEFAULT_LIMITS });
  return toPublicTwin(state, offline);
}

describe('toPublicTwin()', () => {
  it('shows every field in contract order with the sync state', () => {
    const t = twin();
    expect(Object.keys(t)).toEqual([...TWIN_FIELDS]);
    expect(t.sync).toEqual({ inSync: false, pendingSince: T0 });
    expect(t.connection).toBe(offline);
  });

  it('leaves out pendingSince when in sync', () => {
    const t = twin({});
    expect(t.sync).toEqual({ inSync: true });
    expect('pendingSince' in t.sync).toBe(false);
  });
});

describe('toDeviceView()', () => {
  it('shows version, desired, reported and delta only', () => {
    const { state } = planCreate('a', { desired: { x: 1 }, tags: { secret: 1 } }, { now: T0, via: 'http', limits: DEFAULT_LIMITS });
    expect(toDeviceView(state)).toEqual({ version: 1, desired: { x: 1 }, reported: {}, delta: { x: 1 } });
  });
});

describe('selectFields()', () => {
  it('picks top-level fields', () => {
    const t = twin();
    expect(selectFields(t, ['desired', 'delta'])).toEqual({ desired: t.desired, delta: t.delta });
    expect(selectFields(t, [])).toEqual({});
  });

  it('picks dot paths and nests them as in the twin', () => {
    const t = twin();
    expect(selectFields(t, ['version', 'desired.temp', 'desired.room.name', 'metadata.desired.temp', 'sync.inSync']))
      .toEqual({ version: 1, desired: { temp: 21, room: { name: 'lab' } }, metadata: { desired: { temp: { updatedAt: T0 } } }, sync: { inSync: false } });
  });

  it('leaves out paths the twin does not have', () => {
    const t = twin({});
    expect(selectFields(t, ['desired.nope', 'reported.a.b', 'sync.pendingSince', 'id.length', 'tags.toString'])).toEqual({});
    expect(selectFields(twin(), ['desired.list.0', 'desired.temp.x'])).toEqual({});
  });

  it('keeps nulls the twin has', () => {
    expect(selectFields(twin(), ['connection.via'])).toEqual({ connection: { via: null } });
  });

  it('lets a whole field win over paths into it, in any order, without touching the twin', () => {
    const t = twin();
    const before = structuredClone(t);
    expect(selectFields(t, ['desired', 'desired.temp']).desired).toBe(t.desired);
    expect(selectFields(t, ['desired.temp', 'desired']).desired).toBe(t.desired);
    expect(selectFields(t, ['desired.room', 'desired.room.name']).desired).toEqual({ room: t.desired.room });
    expect(t).toEqual(before);
  });

  it('refuses an unknown top-level field', () => {
    const err = thrown(() => selectFields(twin(), ['desired', 'foo.bar']));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe('Unknown field "foo": expected one of id, version, desired, reported, delta, tags, metadata, sync, connection, createdAt, updatedAt');
    expect(thrown(() => selectFields(twin(), ['__proto__'])).code).toBe('invalid_request');
  });

  it('refuses empty path segments', () => {
    for (const f of ['', 'desired.', 'desired..temp']) expect(thrown(() => selectFields(twin(), [f])).code).toBe('invalid_request');
  });
});
