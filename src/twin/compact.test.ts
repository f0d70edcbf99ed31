import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactTwin } from './compact.ts';
import { planCreate, planPatch } from './document.ts';
import { isPlainObject } from './json.ts';
import { DEFAULT_LIMITS } from './types.ts';
import type { JsonObject, JsonValue, TwinState } from './types.ts';

const T0 = '2026-11-23T10:00:00.000Z';
const T1 = '2026-11-23T11:00:00.000Z';
const limits = { ...DEFAULT_LIMITS, maxDepth: 64 };
const ctx = (now: string) => ({ now, via: 'http' as const, limits });

/** A twin as the store hands it out: fresh objects, nothing shared. */
const decoded = (state: TwinState): TwinState => JSON.parse(JSON.stringify(state)) as TwinState;

function stored(): TwinState {
  const { state } = planCreate('thermo-42', { desired: { temp: 21, mode: 'eco', setpoints: [18, 21], room: { name: 'lab' } }, tags: { site: 'berlin' } }, ctx(T0));
  const next = planPatch(state, { reported: { temp: 19.5, mode: 'eco', fw: '1.2.0' } }, { ...ctx(T1), deviceContact: true });
  return decoded(next!.state);
}

/** Every object reachable from `v`, arrays included. */
function objects(v: JsonValue, out: object[] = []): object[] {
  if (v === null || typeof v !== 'object') return out;
  out.push(v);
  for (const x of Array.isArray(v) ? v : Object.values(v)) objects(x, out);
  return out;
}

describe('compactTwin()', () => {
  it('returns a twin equal to the one it was given', () => {
    const twin = stored();
    expect(compactTwin(decoded(twin))).toEqual(twin);
  });

  it('uses the caller\'s id when it is the same id', () => {
    expect(compactTwin(stored(), 'thermo-42').id).toBe('thermo-42');
    // A mismatch (a corrupt record) keeps what was stored rather than hiding it.
    expect(compactTwin(stored(), 'other').id).toBe('thermo-42');
  });

  it('shares one metadata leaf per distinct time', () => {
    const { metadata } = compactTwin(stored());
    expect(metadata.desired['temp']).toBe(metadata.desired['mode']);
    expect(metadata.desired['temp']).toBe((metadata.desired['room'] as JsonObject)['name']);
    expect(metadata.reported['temp']).toBe(metadata.reported['fw']);
    expect(metadata.reported['temp']).not.toBe(metadata.desired['temp']);
    expect(metadata.reported['temp']).toEqual({ updatedAt: T1 });
  });

  it('lets the delta share desired\'s values when the stored delta is the computed one', () => {
    const twin = compactTwin(stored());
    expect(twin.delta).toEqual({ temp: 21, setpoints: [18, 21], room: { name: 'lab' } });
    expect(twin.delta['setpoints']).toBe(twin.desired['setpoints']);
  });

  it('keeps a stored delta that is not the computed one instead of recomputing it', () => {
    const twin = stored();
    twin.delta = { temp: 99 };
    expect(compactTwin(twin).delta).toEqual({ temp: 99 });
  });

  it('shares one frozen object for every empty object', () => {
    const { state } = planCreate('t', { desired: { a: {}, b: { c: {} } } }, ctx(T0));
    const twin = compactTwin(decoded(state));
    expect(twin.reported).toEqual({});
    expect(Object.isFrozen(twin.reported)).toBe(true);
    expect(twin.desired['a']).toBe(twin.reported);
    expect((twin.desired['b'] as JsonObject)['c']).toBe(twin.reported);
    expect(twin.metadata.reported).toBe(twin.reported);
    // Nothing else is frozen: the rest of the twin is its own.
    expect(objects(twin as unknown as JsonObject).filter((o) => Object.isFrozen(o) && o !== twin.reported)).toEqual([]);
  });

  it('tells metadata leaves from subtrees by the document, even for a key named updatedAt', () => {
    const { state } = planCreate('t', { desired: { updatedAt: { updatedAt: 'x' }, n: 1 } }, ctx(T0));
    const twin = compactTwin(decoded(state));
    expect(twin.metadata.desired).toEqual({ updatedAt: { updatedAt: { updatedAt: T0 } }, n: { updatedAt: T0 } });
    expect((twin.metadata.desired['updatedAt'] as JsonObject)['updatedAt']).toBe(twin.metadata.desired['n']);
  });

  it('is a twin every later patch treats exactly like the uncompacted one', () => {
    const key = fc.constantFrom('a', 'b', 'updatedAt');
    const value = fc.letrec<{ v: JsonValue; o: JsonObject }>((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.integer({ min: 0, max: 2 }), fc.constantFrom('x', T0), fc.array(tie('v'), { maxLength: 2 }), tie('o')),
      o: fc.dictionary(key, tie('v'), { maxKeys: 3 }),
    }));
    const patchValue: fc.Arbitrary<JsonObject> = fc.dictionary(key, fc.oneof(value.v, fc.constant(null)), { maxKeys: 3 });
    const step = fc.record({ desired: patchValue, reported: patchValue, tags: patchValue }, { requiredKeys: [] });
    fc.assert(fc.property(value.o, step, step, (desired, first, second) => {
      let state = planCreate('t', { desired }, ctx(T0)).state;
      state = planPatch(state, first, ctx(T1))?.state ?? state;
      const plain = decoded(state);
      const compact = compactTwin(decoded(state));
      expect(compact).toEqual(plain);
      expect(planPatch(compact, second, ctx('t2'))).toEqual(planPatch(plain, second, ctx('t2')));
      // And the compacted twin itself was not changed by planning on it.
      expect(compact).toEqual(plain);
    }));
  });

  it('leaves metadata it cannot read as it found it', () => {
    const twin = stored();
    (twin.metadata.desired as Record<string, unknown>)['temp'] = { updatedAt: T0, extra: true };
    const compact = compactTwin(decoded(twin));
    expect(compact.metadata.desired['temp']).toEqual({ updatedAt: T0, extra: true });
    expect(isPlainObject(compact.metadata.desired['temp'])).toBe(true);
  });
});
