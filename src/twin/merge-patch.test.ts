import { describe, expect, it } from 'vitest';
import { deepEqual, isPlainObject } from './json.ts';
import { applyMergePatch } from './merge-patch.ts';
import type { JsonObject, JsonValue } from './types.ts';

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

// RFC 7396 Appendix A, verbatim: [original, patch, result].
const APPENDIX_A: [JsonValue, JsonValue, JsonValue][] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('applyMergePatch() on RFC 7396 Appendix A', () => {
  for (const [original, patch, result] of APPENDIX_A) {
    const name = `${JSON.stringify(original)} + ${JSON.stringify(patch)}`;
    if (isPlainObject(original) && isPlainObject(patch)) {
      it(`gives ${JSON.stringify(result)} for ${name}`, () => {
        expect(applyMergePatch(deepFreeze(original), deepFreeze(patch)).value).toEqual(result);
      });
    }
    // Sections are objects, so every example also runs one level down, as a member. The one
    // difference: a null patch of a member deletes it, where RFC 7396 returns null for a document.
    it(`gives ${JSON.stringify(result)} for ${name} as a member`, () => {
      const { value } = applyMergePatch(deepFreeze({ doc: original }), deepFreeze({ doc: patch }));
      expect(value).toEqual(result === null ? {} : { doc: result });
    });
  }

  it('gives the result of the RFC 7396 section 3 example', () => {
    const target = { title: 'Goodbye!', author: { givenName: 'John', familyName: 'Doe' }, tags: ['example', 'sample'], content: 'This will be unchanged' };
    const patch = { title: 'Hello!', phoneNumber: '+01-123-456-7890', author: { familyName: null }, tags: ['example'] };
    expect(applyMergePatch(deepFreeze(target), deepFreeze(patch)).value).toEqual({
      title: 'Hello!', author: { givenName: 'John' }, tags: ['example'], content: 'This will be unchanged', phoneNumber: '+01-123-456-7890',
    });
  });
});

describe('applyMergePatch()', () => {
  it('deletes a key patched with null', () => {
    expect(applyMergePatch({ a: 1, b: 2 }, { a: null })).toEqual({ value: { b: 2 }, changed: true });
  });

  it('treats deleting a missing key as no change', () => {
    const target = { a: 1 };
    const result = applyMergePatch(target, { b: null, c: { d: null } as JsonObject, e: {} });
    expect(result.changed).toBe(true); // c and e are new (empty) objects
    const noop = applyMergePatch(target, { b: null });
    expect(noop).toEqual({ value: target, changed: false });
    expect(noop.value).toBe(target);
  });

  it('returns the target itself when the patch writes equal values', () => {
    const target = deepFreeze({ a: 1, b: { c: [1, { d: 2 }] }, e: 'x' });
    const result = applyMergePatch(target, { a: 1, b: { c: [1, { d: 2 }] }, e: 'x' });
    expect(result.changed).toBe(false);
    expect(result.value).toBe(target);
  });

  it('treats an empty patch and an empty nested patch as no change', () => {
    const target = { a: { b: 1 } };
    expect(applyMergePatch(target, {}).value).toBe(target);
    expect(applyMergePatch(target, { a: {} }).value).toBe(target);
  });

  it('shares unchanged subtrees with the target', () => {
    const target = deepFreeze({ keep: { deep: [1, 2] }, change: { x: 1, y: { z: 1 } } });
    const { value } = applyMergePatch(target, { change: { x: 2 } });
    expect(value.keep).toBe(target.keep);
    expect((value.change as JsonObject).y).toBe(target.change.y);
    expect(value).toEqual({ keep: { deep: [1, 2] }, change: { x: 2, y: { z: 1 } } });
  });

  it('replaces arrays whole, even with an equal-length array', () => {
    expect(applyMergePatch({ a: [1, 2, 3] }, { a: [1, 2] }).value).toEqual({ a: [1, 2] });
    expect(applyMergePatch({ a: [{ b: 1, c: 2 }] }, { a: [{ b: 1 }] }).value).toEqual({ a: [{ b: 1 }] });
  });

  it('keeps nulls inside arrays, which replace whole', () => {
    expect(applyMergePatch({}, { a: [null, { b: null }] }).value).toEqual({ a: [null, { b: null }] });
  });

  it('strips nulls at every depth when a patch object lands on a non-object', () => {
    const { value } = applyMergePatch(deepFreeze({ a: 5 }), deepFreeze({ a: { b: null, c: { d: null, e: 1 } } }));
    expect(value).toEqual({ a: { c: { e: 1 } } });
  });

  it('shares a null-free patch object placed where there was none', () => {
    const patch = deepFreeze({ a: { b: { c: 1 } } });
    expect(applyMergePatch({}, patch).value.a).toBe(patch.a);
  });

  it('replaces an object with a scalar and a scalar with an object', () => {
    expect(applyMergePatch({ a: { b: 1 } }, { a: 2 }).value).toEqual({ a: 2 });
    expect(applyMergePatch({ a: 2 }, { a: { b: 1 } }).value).toEqual({ a: { b: 1 } });
  });

  it('writes __proto__ as an own key and leaves prototypes alone', () => {
    const patch = JSON.parse('{"__proto__":{"polluted":true},"a":{"__proto__":1}}') as JsonObject;
    const { value, changed } = applyMergePatch({ a: { b: 1 } }, patch);
    expect(changed).toBe(true);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(value)).toBe('{"a":{"b":1,"__proto__":1},"__proto__":{"polluted":true}}');
    expect(applyMergePatch(value, JSON.parse('{"__proto__":null}') as JsonObject).value).toEqual({ a: { b: 1, ['__proto__']: 1 } });
  });

  it('does not see inherited keys of the target', () => {
    const { value, changed } = applyMergePatch({}, { toString: null, constructor: null });
    expect(changed).toBe(false);
    expect(deepEqual(value, {})).toBe(true);
  });

  it('merges onto null-prototype objects', () => {
    const target = Object.assign(Object.create(null) as JsonObject, { a: Object.assign(Object.create(null) as JsonObject, { b: 1 }) });
    expect(applyMergePatch(target, { a: { c: 2 } }).value).toEqual({ a: { b: 1, c: 2 } });
  });
});
