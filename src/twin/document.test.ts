import { describe, expect, it } from 'vitest';
import type { DoppelError } from '../errors.ts';
import { planCreate, planPatch, withClearedSections } from './document.ts';
import type { ChangeContext } from './document.ts';
import { DEFAULT_LIMITS } from './types.ts';
import type { TwinState } from './types.ts';

const T0 = '2026-11-23T10:00:00.000Z';
const T1 = '2026-11-23T11:00:00.000Z';
const T2 = '2026-11-23T12:00:00.000Z';
const at = (t: string) => ({ updatedAt: t });
const ctx = (now: string, extra: Partial<ChangeContext> & { ifVersion?: number } = {}) =>
  ({ now, via: 'http' as const, limits: DEFAULT_LIMITS, ...extra });

function thrown(fn: () => unknown): DoppelError {
  try { fn(); } catch (err) { return err as DoppelError; }
  throw new Error('expected a throw');
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

function created(desired: Record<string, unknown> = { temp: 21, mode: 'eco' }): TwinState {
  return deepFreeze(planCreate('thermo-42', { desired, tags: { site: 'berlin' } }, ctx(T0)).state);
}

describe('planCreate()', () => {
  it('starts a twin at version 1 with its delta, metadata and event', () => {
    const { state, event } = planCreate('thermo-42', { desired: { temp: 21, room: { name: 'lab' } }, tags: { site: 'berlin' } }, ctx(T0, { clientToken: 'abc' }));
    expect(state).toEqual({
      id: 'thermo-42', version: 1,
      desired: { temp: 21, room: { name: 'lab' } }, reported: {}, delta: { temp: 21, room: { name: 'lab' } }, tags: { site: 'berlin' },
      metadata: { desired: { temp: at(T0), room: { name: at(T0) } }, reported: {} },
      pendingSince: T0, lastSeenAt: null, lastSeenVia: null, tokenId: null, createdAt: T0, updatedAt: T0,
    });
    expect(event).toEqual({
      twin: 'thermo-42', version: 1, at: T0, via: 'http', clientToken: 'abc',
      patch: { desired: { temp: 21, room: { name: 'lab' } }, tags: { site: 'berlin' } }, delta: { temp: 21, room: { name: 'lab' } },
    });
  });

  it('creates an empty, in-sync twin when no sections are given', () => {
    const { state, event } = planCreate('a', {}, ctx(T0));
    expect(state.desired).toEqual({});
    expect(state.tags).toEqual({});
    expect(state.delta).toEqual({});
    expect(state.pendingSince).toBeNull();
    expect(event).toEqual({ twin: 'a', version: 1, at: T0, via: 'http', patch: {}, delta: {} });
    expect('clientToken' in event).toBe(false);
  });

  it('drops nulls from the initial sections, in the state and in the event patch', () => {
    const { state, event } = planCreate('a', { desired: { a: null, b: { c: null } }, tags: {} }, ctx(T0));
    expect(state.desired).toEqual({ b: {} });
    expect(state.delta).toEqual({});
    expect(state.pendingSince).toBeNull();
    expect(event.patch).toEqual({ desired: { b: {} }, tags: {} });
  });

  it('refuses an initial section whose patch is over the section limit, even if it creates little', () => {
    const nulls = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`absent-${i}`, null]));
    const limits = { ...DEFAULT_LIMITS, tagsBytes: 1024 };
    const err = thrown(() => planCreate('a', { tags: nulls }, { ...ctx(T0), limits }));
    const bytes = JSON.stringify(nulls).length;
    expect(err.code).toBe('too_large');
    expect(err.message).toBe(`Patch of "tags" is too large: ${bytes} bytes, the limit is 1024`);
    expect(err.details).toEqual({ section: 'tags', bytes, limit: 1024 });
  });

  it('refuses an invalid id, an invalid section and an over-large section', () => {
    expect(thrown(() => planCreate('a b', {}, ctx(T0))).code).toBe('invalid_request');
    expect(thrown(() => planCreate('a', { desired: [1] }, ctx(T0))).code).toBe('invalid_document');
    expect(thrown(() => planCreate('a', { tags: { __proto__: null, constructor: 1 } }, ctx(T0))).code).toBe('invalid_document');
    expect(thrown(() => planCreate('a', { desired: null }, ctx(T0))).code).toBe('invalid_document');
    const tiny = { ...DEFAULT_LIMITS, tagsBytes: 8 };
    expect(thrown(() => planCreate('a', { tags: { site: 'berlin' } }, { ...ctx(T0), limits: tiny })).details)
      .toEqual({ section: 'tags', bytes: 17, limit: 8 });
  });
});

describe('planPatch()', () => {
  it('bumps the version and describes the change in its event', () => {
    const state = created();
    const result = planPatch(state, { desired: { temp: 22 } }, ctx(T1, { clientToken: 'x', via: 'ws' }))!;
    expect(result.state.version).toBe(2);
    expect(result.state.desired).toEqual({ temp: 22, mode: 'eco' });
    expect(result.state.updatedAt).toBe(T1);
    expect(result.state.createdAt).toBe(T0);
    expect(result.event).toEqual({ twin: 'thermo-42', version: 2, at: T1, via: 'ws', clientToken: 'x', patch: { desired: { temp: 22 } }, delta: { temp: 22, mode: 'eco' } });
  });

  it('returns null for a patch without sections', () => {
    expect(planPatch(created(), {}, ctx(T1))).toBeNull();
  });

  it('returns null for a patch that changes nothing', () => {
    const state = created();
    expect(planPatch(state, { desired: { temp: 21 }, tags: { site: 'berlin', gone: null }, reported: {} }, ctx(T1))).toBeNull();
  });

  it('refuses a stale ifVersion with version_conflict and accepts the current one', () => {
    const state = created();
    const err = thrown(() => planPatch(state, { desired: { temp: 5 } }, ctx(T1, { ifVersion: 7 })));
    expect(err.code).toBe('version_conflict');
    expect(err.details).toEqual({ expected: 7, actual: 1 });
    expect(planPatch(state, { desired: { temp: 5 } }, ctx(T1, { ifVersion: 1 }))?.state.version).toBe(2);
    expect(thrown(() => planPatch(state, {}, ctx(T1, { ifVersion: 2 }))).code).toBe('version_conflict');
  });

  it('refuses invalid input before checking the version', () => {
    const err = thrown(() => planPatch(created(), { tags: { a: NaN } }, ctx(T1, { ifVersion: 99 })));
    expect(err.code).toBe('invalid_document');
  });

  it('validates every section even when another changes nothing', () => {
    expect(thrown(() => planPatch(created(), { desired: { temp: 21 }, reported: 'x' }, ctx(T1))).code).toBe('invalid_document');
  });

  it('leaves the state untouched when a merged section is too large', () => {
    const state = created();
    const snapshot = structuredClone(state);
    const limits = { ...DEFAULT_LIMITS, reportedBytes: 16 };
    const err = thrown(() => planPatch(state, { desired: { temp: 1 }, reported: { fw: '1.2.3.4.5.6' } }, { ...ctx(T1), limits }));
    expect(err.code).toBe('too_large');
    expect(err.details).toEqual({ section: 'reported', bytes: 20, limit: 16 });
    expect(state).toEqual(snapshot);
  });

  it('follows pendingSince as the delta empties and fills', () => {
    const s1 = created();
    expect(s1.pendingSince).toBe(T0);
    const s2 = planPatch(s1, { reported: { temp: 20 } }, ctx(T1))!.state;
    expect(s2.pendingSince).toBe(T0); // still pending: unchanged
    const s3 = planPatch(s2, { reported: { temp: 21, mode: 'eco' } }, ctx(T1))!.state;
    expect(s3.delta).toEqual({});
    expect(s3.pendingSince).toBeNull();
    const s4 = planPatch(s3, { desired: { mode: 'boost' } }, ctx(T2))!.state;
    expect(s4.delta).toEqual({ mode: 'boost' });
    expect(s4.pendingSince).toBe(T2);
  });

  it('stamps every leaf the patch writes, changed or not, and no other (CONTRACT §1: "last written")', () => {
    const state = created({ temp: 21, mode: 'eco', room: { name: 'lab', floor: 1 } });
    const next = planPatch(state, { desired: { temp: 21, mode: 'off', room: { floor: 1, wing: 'b' } } }, ctx(T1))!.state;
    expect(next.metadata.desired).toEqual({ temp: at(T1), mode: at(T1), room: { name: at(T0), floor: at(T1), wing: at(T1) } });
    expect(next.metadata.reported).toBe(state.metadata.reported);
  });

  it('stamps the leaves written in a section that did not change when the patch changed another', () => {
    const state = created({ temp: 21, mode: 'eco' });
    const next = planPatch(state, { desired: { temp: 21 }, reported: { temp: 20 } }, ctx(T1))!.state;
    expect(next.metadata.desired).toEqual({ temp: at(T1), mode: at(T0) });
    expect(next.metadata.reported).toEqual({ temp: at(T1) });
    const tagged = planPatch(state, { desired: { mode: 'eco' }, tags: { site: 'paris' } }, ctx(T2))!.state;
    expect(tagged.metadata.desired).toEqual({ temp: at(T0), mode: at(T2) });
  });

  it('moves no metadata for a patch that changes nothing anywhere', () => {
    const state = created({ temp: 21, mode: 'eco' });
    expect(planPatch(state, { desired: { temp: 21, mode: 'eco' }, reported: {}, tags: { site: 'berlin' } }, ctx(T1))).toBeNull();
    expect(state.metadata.desired).toEqual({ temp: at(T0), mode: at(T0) });
  });

  it('keeps the metadata and delta objects when only tags change', () => {
    const state = created();
    const next = planPatch(state, { tags: { site: 'paris' } }, ctx(T1))!;
    expect(next.state.tags).toEqual({ site: 'paris' });
    expect(next.state.metadata).toBe(state.metadata);
    expect(next.state.delta).toBe(state.delta);
    expect(next.event.delta).toBe(state.delta);
  });

  it('keeps the delta object when a change leaves the delta equal', () => {
    const state = created();
    const next = planPatch(state, { reported: { fw: '1.2.0' } }, ctx(T1))!.state;
    expect(next.delta).toBe(state.delta);
    expect(next.metadata.reported).toEqual({ fw: at(T1) });
    expect(next.metadata.desired).toBe(state.metadata.desired);
  });

  it('records device contact only when asked', () => {
    const state = created();
    const quiet = planPatch(state, { reported: { temp: 20 } }, ctx(T1, { via: 'coap' }))!.state;
    expect(quiet.lastSeenAt).toBeNull();
    const seen = planPatch(state, { reported: { temp: 20 } }, ctx(T1, { via: 'coap', deviceContact: true }))!.state;
    expect(seen.lastSeenAt).toBe(T1);
    expect(seen.lastSeenVia).toBe('coap');
  });

  it('puts only the effective change of each changed section in the event', () => {
    const state = created();
    const { event } = planPatch(state, { desired: { temp: 21 }, reported: { temp: 21, x: null } }, ctx(T1))!;
    expect(event.patch).toEqual({ reported: { temp: 21 } });
    expect(event.delta).toEqual({ mode: 'eco' });
  });

  it('records deletions of present keys and changed values, at any depth, and nothing else', () => {
    const state = created({ temp: 21, mode: 'eco', room: { name: 'lab', floor: 1, wing: 'a' }, list: [1, 2], gone: 1 });
    const { event } = planPatch(state, {
      desired: {
        temp: 21, list: [1, 2], absent: null, gone: null, mode: { deep: { x: null, y: 1 } },
        room: { name: 'lab', floor: 2, wing: null, nope: null, extra: { z: null } },
      },
    }, ctx(T1))!;
    expect(event.patch).toEqual({
      desired: { gone: null, mode: { deep: { y: 1 } }, room: { floor: 2, wing: null, extra: {} } },
    });
  });

  it('refuses a section patch over the section limit before merging, however small the result', () => {
    const state = created();
    // Deleting keys the twin never had changes nothing, but would still be work and history.
    const nulls = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`absent-key-${i}`, null]));
    const bytes = JSON.stringify({ ...nulls, temp: 5 }).length;
    expect(bytes).toBeGreaterThan(DEFAULT_LIMITS.desiredBytes);
    const err = thrown(() => planPatch(state, { desired: { ...nulls, temp: 5 } }, ctx(T1)));
    expect(err.code).toBe('too_large');
    expect(err.message).toBe(`Patch of "desired" is too large: ${bytes} bytes, the limit is ${DEFAULT_LIMITS.desiredBytes}`);
    expect(err.details).toEqual({ section: 'desired', bytes, limit: DEFAULT_LIMITS.desiredBytes });
    // Refused with the other input checks: before the expected version is looked at.
    expect(thrown(() => planPatch(state, { desired: nulls }, ctx(T1, { ifVersion: 99 }))).code).toBe('too_large');
  });

  it('never refuses clearing a full section for the size of its nulls, and records the deletions', () => {
    const limits = { ...DEFAULT_LIMITS, desiredBytes: 64 };
    const desired = Object.fromEntries('abcdefghi'.split('').map((k, i) => [k, i]));
    expect(JSON.stringify(desired).length).toBeLessThanOrEqual(64);
    const state = deepFreeze(planCreate('t', { desired }, { ...ctx(T0), limits }).state);
    const clear = Object.fromEntries(Object.keys(desired).map((k) => [k, null]));
    expect(JSON.stringify(clear).length).toBeGreaterThan(64);
    const result = planPatch(state, { desired: clear }, { ...ctx(T1), limits })!;
    expect(result.state.desired).toEqual({});
    expect(result.event.patch).toEqual({ desired: clear });
    // The same bytes of deletions of keys it does not have are refused.
    const absent = Object.fromEntries('jklmnopqr'.split('').map((k) => [k, null]));
    expect(thrown(() => planPatch(state, { desired: absent }, { ...ctx(T1), limits })).details)
      .toEqual({ section: 'desired', bytes: JSON.stringify(absent).length, limit: 64 });
  });

  it('keeps the token id and never mutates the state it is given', () => {
    const state = deepFreeze({ ...created(), tokenId: 'tok-1' });
    const next = planPatch(state, { desired: { temp: null, new: { a: 1 } }, reported: { mode: 'eco' }, tags: { site: null } }, ctx(T1))!.state;
    expect(next.tokenId).toBe('tok-1');
    expect(next).toMatchObject({ version: 2, desired: { mode: 'eco', new: { a: 1 } }, reported: { mode: 'eco' }, tags: {}, delta: { new: { a: 1 } } });
    expect(next.metadata.desired).toEqual({ mode: at(T0), new: { a: at(T1) } });
  });
});

describe('withClearedSections()', () => {
  const { state } = planCreate('a', { desired: { temp: 21, mode: 'eco' }, tags: { site: 'x' } }, ctx(T0));

  it('turns a null section into a merge patch deleting each current key', () => {
    expect(withClearedSections({ desired: null, tags: { room: 1 } }, state)).toEqual({ desired: { temp: null, mode: null }, tags: { room: 1 } });
    expect(withClearedSections({ reported: null }, state)).toEqual({ reported: {} });
  });

  it('returns the very patch when no section is null', () => {
    const patch = { desired: { temp: 22 } };
    expect(withClearedSections(patch, state)).toBe(patch);
  });

  it('clears the section once applied, and the event shows the removed keys', () => {
    const next = planPatch(state, withClearedSections({ desired: null }, state), ctx(T1))!;
    expect(next.state.desired).toEqual({});
    expect(next.event.patch).toEqual({ desired: { temp: null, mode: null } });
  });
});
