import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepEqual, isEmptyObject, isPlainObject, jsonByteLength, setOwn, utf8ByteLength } from './json.ts';
import type { JsonValue } from './types.ts';

// The reference: what a UTF-8 encoder makes of the JSON text (runtime-neutral, unlike Buffer).
const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

describe('isPlainObject()', () => {
  it('accepts object literals, null-prototype objects and JSON.parse results', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject(JSON.parse('{"__proto__":1}'))).toBe(true);
  });

  it('refuses null, arrays, primitives and class instances', () => {
    for (const v of [null, undefined, [], 'x', 1, new Date(), new Map(), new Uint8Array(1), new (class A {})(), () => 1]) {
      expect(isPlainObject(v)).toBe(false);
    }
  });
});

describe('deepEqual()', () => {
  it('compares objects regardless of key order', () => {
    expect(deepEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBe(true);
  });

  it('compares arrays element-wise in order', () => {
    expect(deepEqual([1, 2], [1, 2])).toBe(true);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual([1, 2], [1, 2, 3])).toBe(false);
  });

  it('tells apart different key sets, types and values', () => {
    const cases: [JsonValue, JsonValue][] = [
      [{ a: 1 }, { a: 1, b: 2 }], [{ a: 1, b: 2 }, { a: 1 }], [{ a: 1 }, { b: 1 }], [{}, []], [[], {}],
      [null, {}], [{}, null], [0, '0'], [false, 0], [null, 0], [{ a: null }, {}], ['a', 'b'], [[{ a: 1 }], [{ a: 2 }]],
    ];
    for (const [a, b] of cases) expect(deepEqual(a, b), JSON.stringify([a, b])).toBe(false);
  });

  it('sees own __proto__ keys and ignores prototypes', () => {
    expect(deepEqual(JSON.parse('{"__proto__":1}'), {})).toBe(false);
    expect(deepEqual(JSON.parse('{"__proto__":1}'), JSON.parse('{"__proto__":1}'))).toBe(true);
    expect(deepEqual(Object.assign(Object.create(null), { a: 1 }), { a: 1 })).toBe(true);
  });

  it('agrees with comparing canonical JSON', () => {
    const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) =>
      x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x);
    const small = fc.letrec<{ v: JsonValue }>((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.constantFrom(0, 1, 'a', true, null), fc.array(tie('v'), { maxLength: 2 }),
        fc.dictionary(fc.constantFrom('a', 'b'), tie('v'), { maxKeys: 2, noNullPrototype: true })),
    })).v;
    fc.assert(fc.property(small, small, (a, b) => deepEqual(a, b) === (canonical(a) === canonical(b))));
  });
});

describe('isEmptyObject()', () => {
  it('is true only without own keys', () => {
    expect(isEmptyObject({})).toBe(true);
    expect(isEmptyObject(Object.create(null))).toBe(true);
    expect(isEmptyObject({ a: null })).toBe(false);
    expect(isEmptyObject(JSON.parse('{"__proto__":{}}'))).toBe(false);
  });
});

describe('jsonByteLength()', () => {
  const bytes = (v: JsonValue) => utf8Bytes(JSON.stringify(v));

  it('counts multi-byte characters exactly', () => {
    expect(jsonByteLength('é')).toBe(4);
    expect(jsonByteLength('€')).toBe(5);
    expect(jsonByteLength('😀')).toBe(6);
    expect(jsonByteLength({ t: '€' })).toBe(11);
    for (const v of ['aé€😀', { 'ключ': ['日本語', '👩‍👩‍👧'] }, '\u07ff\u0800\uffff\u{10000}\u{10ffff}']) expect(jsonByteLength(v)).toBe(bytes(v));
  });

  it('counts escapes as JSON.stringify writes them', () => {
    expect(jsonByteLength('\n')).toBe(4);
    expect(jsonByteLength('"\\')).toBe(6);
    expect(jsonByteLength('\u0001')).toBe(8);
    // Lone surrogates are written as \uXXXX: six ASCII bytes each.
    expect(jsonByteLength('\ud800')).toBe(8);
    expect(jsonByteLength('\udc00x\ud83d')).toBe(15);
    expect(jsonByteLength('\ud83d\ud83d\ude00')).toBe(bytes('\ud83d\ud83d\ude00'));
  });

  it('matches the UTF-8 encoding for any string, including lone surrogates', () => {
    const units = fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd7f0, max: 0xe010 })), { maxLength: 40 })
      .map((cs) => String.fromCharCode(...cs));
    fc.assert(fc.property(fc.oneof(units, fc.string({ unit: 'binary' })), (s) => {
      expect(jsonByteLength({ [s]: s })).toBe(bytes({ [s]: s }));
    }));
  });

  it('matches the UTF-8 encoding for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => { expect(jsonByteLength(v as JsonValue)).toBe(bytes(v as JsonValue)); }));
  });
});

describe('utf8ByteLength()', () => {
  it('counts a raw lone surrogate as the 3 bytes of U+FFFD', () => {
    expect(utf8ByteLength('\ud800')).toBe(3);
    expect(utf8ByteLength('\ud800a')).toBe(4);
    expect(utf8ByteLength('\udc00')).toBe(3);
  });
});

describe('setOwn()', () => {
  it('creates an own __proto__ key instead of changing the prototype', () => {
    const o: Record<string, unknown> = {};
    setOwn(o, '__proto__', { polluted: true });
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__']);
    expect(JSON.stringify(o)).toBe('{"__proto__":{"polluted":true}}');
  });
});
