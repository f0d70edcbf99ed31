import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeDelta } from './delta.ts';
import { planCreate, planPatch } from './document.ts';
import { deepEqual, isEmptyObject, isPlainObject, setOwn } from './json.ts';
import { applyMergePatch } from './merge-patch.ts';
import { metadataFor, updateMetadata } from './metadata.ts';
import { DEFAULT_LIMITS } from './types.ts';
import type { JsonObject, JsonValue, MetadataTree, TwinState } from './types.ts';

// A handful of keys so that patches and documents collide often; __proto__ and updatedAt probe
// own-property handling and the metadata leaf/subtree distinction.
const KEYS = ['a', 'b', 'c', '__proto__', 'updatedAt'];
const SAFE_KEYS = ['a', 'b', 'c', 'updatedAt'];

function arbitraries(keys: string[]) {
  const key = fc.constantFrom(...keys);
  const scalar = fc.oneof(fc.integer({ min: -2, max: 2 }), fc.boolean(), fc.constantFrom('x', 'y', ''));
  return fc.letrec<{ patchValue: JsonValue; patch: JsonObject; docValue: JsonValue; doc: JsonObject; array: JsonValue[] }>((tie) => ({
    array: fc.array(fc.oneof(scalar, fc.constant(null), tie('doc')), { maxLength: 2 }),
    // Documents hold no null members (a merge deletes them); arrays may hold anything.
    docValue: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('doc')),
    doc: fc.dictionary(key, tie('docValue'), { maxKeys: 4 }),
    patchValue: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.constant(null), tie('array'), tie('patch')),
    patch: fc.dictionary(key, tie('patchValue'), { maxKeys: 4 }),
  }));
}
const { doc, patch } = arbitraries(KEYS);
const safe = arbitraries(SAFE_KEYS);

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

/** RFC 7396 §2 pseudo-code, transcribed literally, as the reference. */
function referenceMerge(target: JsonValue | undefined, p: JsonValue): JsonValue {
  if (!isPlainObject(p)) return p;
  const t: JsonObject = {};
  if (target !== undefined && isPlainObject(target)) for (const k of Object.keys(target)) setOwn(t, k, target[k]!);
  for (const k of Object.keys(p)) {
    if (p[k] === null) delete t[k];
    else setOwn(t, k, referenceMerge(Object.hasOwn(t, k) ? t[k] : undefined, p[k]!));
  }
  return t;
}

/** Every leaf (non-object value) of a document with its key path; empty objects have none. */
function leaves(o: JsonObject, prefix: string[] = []): [string[], JsonValue][] {
  return Object.keys(o).flatMap((k) => {
    const v = o[k]!;
    return isPlainObject(v) ? leaves(v, [...prefix, k]) : [[[...prefix, k], v] as [string[], JsonValue]];
  });
}

/** Every key path of a document, objects included. */
function paths(o: JsonObject, prefix: string[] = []): string[][] {
  return Object.keys(o).flatMap((k) => {
    const v = o[k]!;
    return [[...prefix, k], ...(isPlainObject(v) ? paths(v, [...prefix, k]) : [])];
  });
}

function get(o: JsonValue, path: string[]): JsonValue | undefined {
  let v: JsonValue | undefined = o;
  for (const k of path) v = v !== undefined && isPlainObject(v) && Object.hasOwn(v, k) ? v[k] : undefined;
  return v;
}

/** Metadata mirrors the document key by key: subtrees for objects, `{updatedAt}` for leaves. */
function mirrors(meta: MetadataTree, d: JsonObject): boolean {
  const keys = Object.keys(d);
  if (Object.keys(meta).length !== keys.length) return false;
  return keys.every((k) => {
    const m = Object.hasOwn(meta, k) ? meta[k] : undefined;
    const v = d[k]!;
    if (m === undefined) return false;
    return isPlainObject(v) ? mirrors(m as MetadataTree, v) : Object.keys(m).length === 1 && typeof m.updatedAt === 'string';
  });
}

describe('applyMergePatch() laws', () => {
  it('agrees with the RFC 7396 pseudo-code', () => {
    fc.assert(fc.property(doc, patch, (t, p) => deepEqual(applyMergePatch(t, p).value, referenceMerge(t, p))));
  });

  it('is idempotent: applying a patch twice equals applying it once', () => {
    fc.assert(fc.property(doc, patch, (t, p) => {
      const once = applyMergePatch(t, p).value;
      const twice = applyMergePatch(once, p);
      return !twice.changed && twice.value === once;
    }));
  });

  it('reports changed false exactly when the result deep-equals the target, and then returns the target', () => {
    fc.assert(fc.property(doc, patch, (t, p) => {
      const { value, changed } = applyMergePatch(t, p);
      return changed === !deepEqual(value, t) && (changed || value === t);
    }));
  });

  it('never mutates its inputs', () => {
    fc.assert(fc.property(doc, patch, (t, p) => {
      const before = JSON.stringify([t, p]);
      applyMergePatch(deepFreeze(t), deepFreeze(p));
      return JSON.stringify([t, p]) === before;
    }));
  });
});

describe('computeDelta() laws', () => {
  it('is empty exactly when every desired leaf deep-equals reported at the same path', () => {
    fc.assert(fc.property(doc, doc, (d, r) => {
      const converged = leaves(d).every(([path, v]) => { const w = get(r, path); return w !== undefined && deepEqual(v, w); });
      return isEmptyObject(computeDelta(d, r)) === converged;
    }));
  });

  it('holds exactly the differing leaves of desired, at paths desired has', () => {
    fc.assert(fc.property(doc, doc, (d, r) => {
      const delta = computeDelta(d, r);
      const differing = leaves(d).filter(([path, v]) => { const w = get(r, path); return w === undefined || !deepEqual(v, w); });
      return paths(delta).every((path) => get(d, path) !== undefined)
        && deepEqual(leaves(delta) as unknown as JsonValue, differing as unknown as JsonValue);
    }));
  });

  it('is empty for a document against itself', () => {
    fc.assert(fc.property(doc, (d) => isEmptyObject(computeDelta(d, d))));
  });

  it('is empty after reported is patched with the delta', () => {
    fc.assert(fc.property(doc, doc, (d, r) => {
      const reported = applyMergePatch(r, computeDelta(d, r)).value;
      return isEmptyObject(computeDelta(d, reported));
    }));
  });
});

describe('updateMetadata() laws', () => {
  const T0 = 't0';
  const T1 = 't1';

  it('mirrors the new document and stamps exactly the leaves the patch writes, changed or not', () => {
    fc.assert(fc.property(doc, patch, (before, p) => {
      deepFreeze(before); deepFreeze(p);
      const meta = deepFreeze(metadataFor(before, T0));
      const after = applyMergePatch(before, p).value;
      const next = updateMetadata(meta, before, after, p, T1);
      if (!mirrors(next, after)) return false;
      // A leaf of the result is written by the patch exactly when the patch holds a value there.
      return leaves(after).every(([path]) => {
        const stamp = (get(next as unknown as JsonObject, path) as JsonObject).updatedAt;
        return stamp === (get(p, path) !== undefined ? T1 : T0);
      });
    }));
  });
});

describe('planPatch() laws', () => {
  // Generated documents may nest deeper than the default limit; depth is not what is tested here.
  const limits = { ...DEFAULT_LIMITS, maxDepth: 64 };
  const sections = fc.record({ desired: safe.patch, reported: safe.patch, tags: safe.patch }, { requiredKeys: [] });

  it('keeps version, delta, pendingSince and metadata consistent over any sequence of patches', () => {
    fc.assert(fc.property(safe.doc, fc.array(sections, { maxLength: 8 }), (desired, steps) => {
      let state: TwinState = deepFreeze(planCreate('t', { desired }, { now: 't0', via: 'http', limits }).state);
      steps.forEach((step, i) => {
        const now = `t${i + 1}`;
        const result = planPatch(state, step, { now, via: 'coap', limits });
        const merged = (['desired', 'reported', 'tags'] as const)
          .map((s) => (step[s] === undefined ? state[s] : applyMergePatch(state[s], step[s]).value));
        const changed = merged.some((m, j) => !deepEqual(m, state[(['desired', 'reported', 'tags'] as const)[j]!]));
        expect(result !== null).toBe(changed);
        if (result === null) return;
        const next = result.state;
        expect(next.version).toBe(state.version + 1);
        expect(result.event.version).toBe(next.version);
        expect(deepEqual(next.desired, merged[0]!) && deepEqual(next.reported, merged[1]!) && deepEqual(next.tags, merged[2]!)).toBe(true);
        expect(deepEqual(next.delta, computeDelta(next.desired, next.reported))).toBe(true);
        expect(next.pendingSince === null).toBe(isEmptyObject(next.delta));
        if (!isEmptyObject(next.delta)) expect(next.pendingSince).toBe(isEmptyObject(state.delta) ? now : state.pendingSince);
        expect(mirrors(next.metadata.desired, next.desired) && mirrors(next.metadata.reported, next.reported)).toBe(true);
        for (const s of ['desired', 'reported'] as const) {
          const written = step[s];
          for (const [path] of leaves(next[s])) {
            const stamp = (get(next.metadata[s] as unknown as JsonObject, path) as JsonObject).updatedAt;
            const previous = () => (get(state.metadata[s] as unknown as JsonObject, path) as JsonObject).updatedAt;
            expect(stamp).toBe(written !== undefined && get(written, path) !== undefined ? now : previous());
          }
        }
        state = deepFreeze(next);
      });
    }));
  });

  it('records in each event an effective patch that replays exactly onto the previous state', () => {
    const sectionNames = ['desired', 'reported', 'tags'] as const;
    // Every leaf of an event patch is a deletion of a present key or a value that differs.
    const effective = (before: JsonObject, p: JsonObject): boolean => Object.keys(p).every((k) => {
      const v = p[k]!;
      const b = Object.hasOwn(before, k) ? before[k] : undefined;
      if (v === null) return b !== undefined;
      if (b === undefined || !deepEqual(b, v)) return !isPlainObject(v) || b === undefined || !isPlainObject(b) || effective(b, v);
      return false;
    });
    fc.assert(fc.property(safe.doc, safe.doc, fc.array(sections, { maxLength: 8 }), (desired, tags, steps) => {
      const created = planCreate('t', { desired, tags }, { now: 't0', via: 'http', limits });
      expect(applyMergePatch({}, created.event.patch.desired!).value).toEqual(created.state.desired);
      expect(applyMergePatch({}, created.event.patch.tags!).value).toEqual(created.state.tags);
      let state: TwinState = deepFreeze(created.state);
      steps.forEach((step, i) => {
        const result = planPatch(state, step, { now: `t${i + 1}`, via: 'coap', limits });
        if (result === null) return;
        for (const s of sectionNames) {
          const recorded = result.event.patch[s];
          // A section is in the event exactly when it changed, and replaying it gives the new one.
          expect(recorded !== undefined).toBe(!deepEqual(state[s], result.state[s]));
          expect(applyMergePatch(state[s], recorded ?? {}).value).toEqual(result.state[s]);
          if (recorded !== undefined) expect(effective(state[s], recorded)).toBe(true);
        }
        state = deepFreeze(result.state);
      });
    }));
  });
});
