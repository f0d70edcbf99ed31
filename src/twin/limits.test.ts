import { describe, expect, it } from 'vitest';
import type { DoppelError } from '../errors.ts';
import { assertNoForbiddenKeys, assertPatchSize, assertSectionSize, FORBIDDEN_KEYS, validateSection } from './limits.ts';
import { DEFAULT_LIMITS } from './types.ts';
import type { DocumentLimits, JsonObject } from './types.ts';

// The reference: what a UTF-8 encoder makes of the JSON text (runtime-neutral, unlike Buffer).
const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

function thrown(fn: () => unknown): DoppelError {
  try { fn(); } catch (err) { return err as DoppelError; }
  throw new Error('expected a throw');
}

const limits: DocumentLimits = { ...DEFAULT_LIMITS, maxDepth: 3, maxKeyLength: 8 };

function nest(levels: number, make: (inner: unknown) => unknown): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = make(v);
  return v;
}

describe('validateSection()', () => {
  it('returns the very object it was given', () => {
    const doc = { a: 1, b: 'x', c: true, d: null, e: [1, 'a', null, { f: [] }], g: { h: -0.5e-300 } };
    expect(validateSection(doc, 'desired', DEFAULT_LIMITS)).toBe(doc);
  });

  it('accepts null-prototype objects', () => {
    expect(() => validateSection(Object.assign(Object.create(null), { a: Object.create(null) }), 'tags', limits)).not.toThrow();
  });

  it('refuses a section that is not an object', () => {
    for (const [v, kind] of [[null, 'null'], [[], 'array'], ['x', 'string'], [1, 'number'], [undefined, 'undefined'], [new Date(0), 'Date']] as const) {
      const err = thrown(() => validateSection(v, 'desired', limits));
      expect(err.code).toBe('invalid_document');
      expect(err.message).toBe(`"desired" must be an object: got ${kind}`);
    }
  });

  it('refuses values that are not JSON, naming their path', () => {
    const cases: [unknown, string, string][] = [
      [{ a: { b: undefined } }, 'desired.a.b', 'undefined'],
      [{ a: Number.NaN }, 'desired.a', 'NaN'],
      [{ a: [0, Number.POSITIVE_INFINITY] }, 'desired.a.1', 'Infinity'],
      [{ a: Number.NEGATIVE_INFINITY }, 'desired.a', '-Infinity'],
      [{ a: new Date(0) }, 'desired.a', 'Date'],
      [{ a: new Map() }, 'desired.a', 'Map'],
      [{ a: { b: [new Uint8Array(2)] } }, 'desired.a.b.0', 'Uint8Array'],
      [{ a: () => 1 }, 'desired.a', 'function'],
      [{ a: 1n }, 'desired.a', 'bigint'],
      [{ a: Symbol('s') }, 'desired.a', 'symbol'],
      [{ a: new (class Point { x = 1; })() }, 'desired.a', 'non-plain object'],
      [{ a: [1, , 3] }, 'desired.a.1', 'undefined'], // a hole reads as undefined
    ];
    for (const [doc, path, kind] of cases) {
      const err = thrown(() => validateSection(doc, 'desired', DEFAULT_LIMITS));
      expect(err.code, path).toBe('invalid_document');
      expect(err.details).toEqual({ path });
      expect(err.message).toBe(`Invalid value at "${path}": ${kind} is not a JSON value`);
    }
  });

  it('refuses forbidden keys at any depth', () => {
    for (const key of FORBIDDEN_KEYS) {
      for (const [json, path] of [[`{"${key}":1}`, `reported.${key}`], [`{"a":[{"b":{"${key}":{}}}]}`, `reported.a.0.b.${key}`]]) {
        const err = thrown(() => validateSection(JSON.parse(json!), 'reported', DEFAULT_LIMITS));
        expect(err.code).toBe('invalid_document');
        expect(err.details).toEqual({ path });
        expect(err.message).toMatch(new RegExp(`^Forbidden key "${key}" at "${path}": `));
      }
    }
  });

  it('refuses __proto__ from JSON.parse, which is an own key there', () => {
    expect(thrown(() => validateSection(JSON.parse('{"__proto__":1}'), 'tags', DEFAULT_LIMITS)).code).toBe('invalid_document');
  });

  it('refuses keys longer than maxKeyLength UTF-16 code units', () => {
    expect(() => validateSection({ '12345678': 1, é1234567: 1 }, 'tags', limits)).not.toThrow();
    const err = thrown(() => validateSection({ a: { '123456789': 1 } }, 'tags', limits));
    expect(err.code).toBe('invalid_document');
    expect(err.details).toEqual({ path: 'tags.a.123456789', length: 9, maxKeyLength: 8 });
    expect(err.message).toBe('Key "123456789" at "tags.a" is too long: 9 UTF-16 code units, the limit is 8');
    // An astral character is two code units.
    expect(thrown(() => validateSection({ '😀😀😀😀a': 1 }, 'tags', limits)).code).toBe('invalid_document');
  });

  it('counts the section as depth 1 and each nested object or array as 1 more', () => {
    const depth2 = { ...limits, maxDepth: 2 };
    expect(() => validateSection({ a: 1 }, 'desired', { ...limits, maxDepth: 1 })).not.toThrow();
    expect(() => validateSection({ a: { b: 1 } }, 'desired', depth2)).not.toThrow();
    expect(() => validateSection({ a: [1] }, 'desired', depth2)).not.toThrow();
    expect(() => validateSection({ a: [{ b: 1 }] }, 'desired', { ...limits, maxDepth: 3 })).not.toThrow();
    for (const doc of [{ a: { b: {} } }, { a: [[]] }, { a: [{ b: 1 }] }]) {
      const err = thrown(() => validateSection(doc, 'desired', depth2));
      expect(err.code).toBe('too_deep');
      expect(err.details?.maxDepth).toBe(2);
    }
    expect(thrown(() => validateSection({ a: [{ b: 1 }] }, 'desired', depth2)).details).toEqual({ path: 'desired.a.0', maxDepth: 2 });
  });

  it('accepts exactly the default depth of 10 and refuses 11', () => {
    // nest(n) is n objects, the outermost being the section itself.
    expect(() => validateSection(nest(10, (v) => ({ k: v })), 'desired', DEFAULT_LIMITS)).not.toThrow();
    expect(() => validateSection({ k: nest(9, (v) => [v]) }, 'desired', DEFAULT_LIMITS)).not.toThrow();
    expect(thrown(() => validateSection(nest(11, (v) => ({ k: v })), 'desired', DEFAULT_LIMITS)).code).toBe('too_deep');
    expect(thrown(() => validateSection({ k: nest(10, (v) => [v]) }, 'desired', DEFAULT_LIMITS)).code).toBe('too_deep');
  });

  it('refuses 100,000-deep arrays and objects as too_deep without overflowing the stack', () => {
    for (const make of [(v: unknown) => [v], (v: unknown) => ({ a: v })]) {
      const err = thrown(() => validateSection({ x: nest(100_000, make) }, 'reported', DEFAULT_LIMITS));
      expect(err.code).toBe('too_deep');
      expect(err.details?.maxDepth).toBe(10);
    }
  });

  it('refuses a cyclic object as too_deep', () => {
    const doc: Record<string, unknown> = {};
    doc.self = doc;
    expect(thrown(() => validateSection(doc, 'desired', DEFAULT_LIMITS)).code).toBe('too_deep');
  });

  it('reports the first problem found in document order', () => {
    expect(thrown(() => validateSection({ a: NaN, b: { __proto__: null, constructor: 1 } }, 'desired', limits)).details).toEqual({ path: 'desired.a' });
  });
});

describe('assertSectionSize()', () => {
  const small: DocumentLimits = { ...DEFAULT_LIMITS, desiredBytes: 20, reportedBytes: 30, tagsBytes: 10 };

  it('accepts a section at exactly its byte limit', () => {
    const doc = { a: 'x'.repeat(12) }; // {"a":"xxxxxxxxxxxx"} = 20 bytes
    expect(utf8Bytes(JSON.stringify(doc))).toBe(20);
    expect(() => assertSectionSize(doc, 'desired', small)).not.toThrow();
  });

  it('refuses one byte over with the section, size and limit', () => {
    const err = thrown(() => assertSectionSize({ a: 'x'.repeat(13) }, 'desired', small));
    expect(err.code).toBe('too_large');
    expect(err.details).toEqual({ section: 'desired', bytes: 21, limit: 20 });
    expect(err.message).toBe('Section "desired" is too large: 21 bytes, the limit is 20');
  });

  it('counts multi-byte characters and escapes as UTF-8 bytes', () => {
    const euro = { a: '€€€€' }; // 8 + 12 bytes = 20, though only 12 UTF-16 code units
    expect(() => assertSectionSize(euro, 'desired', small)).not.toThrow();
    const err = thrown(() => assertSectionSize({ a: '€€€€é' }, 'desired', small));
    expect(err.details).toEqual({ section: 'desired', bytes: 22, limit: 20 });
    const escaped = { a: '\n\u0001😀' }; // {"a":"\n\u0001😀"}
    expect(thrown(() => assertSectionSize(escaped, 'desired', { ...small, desiredBytes: 19 })).details)
      .toEqual({ section: 'desired', bytes: utf8Bytes(JSON.stringify(escaped)), limit: 19 });
  });

  it('uses the limit of each section', () => {
    const doc: JsonObject = { a: 'x'.repeat(15) };
    expect(() => assertSectionSize(doc, 'reported', small)).not.toThrow();
    expect(thrown(() => assertSectionSize(doc, 'tags', small)).details).toEqual({ section: 'tags', bytes: 23, limit: 10 });
    expect(thrown(() => assertSectionSize(doc, 'desired', small)).details?.section).toBe('desired');
  });
});

describe('assertPatchSize()', () => {
  const small: DocumentLimits = { ...DEFAULT_LIMITS, desiredBytes: 20, reportedBytes: 30, tagsBytes: 10 };

  it('accepts a patch at exactly the section limit and refuses one byte over, naming the patch', () => {
    expect(() => assertPatchSize({ a: 'x'.repeat(12) }, {}, 'desired', small)).not.toThrow();
    const err = thrown(() => assertPatchSize({ a: 'x'.repeat(13) }, {}, 'desired', small));
    expect(err.code).toBe('too_large');
    expect(err.message).toBe('Patch of "desired" is too large: 21 bytes, the limit is 20');
    expect(err.details).toEqual({ section: 'desired', bytes: 21, limit: 20 });
    expect(thrown(() => assertPatchSize({ a: 'x'.repeat(13) }, {}, 'tags', small)).details).toEqual({ section: 'tags', bytes: 21, limit: 10 });
  });

  it('counts deletions of absent keys, at any depth, but not deletions of keys the target has', () => {
    const target: JsonObject = { aaaa: 1, o: { bbbb: 1 } };
    // {"aaaa":null,"o":{"bbbb":null}} is 31 bytes, yet only shrinks the target.
    expect(() => assertPatchSize({ aaaa: null, o: { bbbb: null } }, target, 'desired', small)).not.toThrow();
    // The same bytes deleting keys the target lacks are counted whole.
    expect(thrown(() => assertPatchSize({ cccc: null, o: { dddd: null } }, target, 'desired', small)).details)
      .toEqual({ section: 'desired', bytes: 31, limit: 20 });
    // What remains once the present deletions are set aside is measured: {"o":{},"x":"yyyyyyyyy"} = 24.
    expect(thrown(() => assertPatchSize({ aaaa: null, o: { bbbb: null }, x: 'y'.repeat(9) }, target, 'desired', small)).details)
      .toEqual({ section: 'desired', bytes: 24, limit: 20 });
  });
});

describe('assertNoForbiddenKeys', () => {
  it('refuses a reserved key at any depth, inside arrays too, and accepts everything else', () => {
    for (const key of FORBIDDEN_KEYS) {
      const nested = JSON.parse(`{"a":[1,{"b":{"${key}":{"x":1}}}]}`) as unknown;
      expect(() => assertNoForbiddenKeys(nested, 'the payload')).toThrow(expect.objectContaining({ code: 'invalid_document' }));
    }
    for (const ok of [null, 1, 'x', [], {}, { a: [{ b: 'constructor' }] }, { proto: 1, __proto_: 2 }]) expect(() => assertNoForbiddenKeys(ok, 'x')).not.toThrow();
  });

  it('walks 100,000 levels of nesting without overflowing the stack', () => {
    let deep: unknown = { __proto__x: 1 };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => assertNoForbiddenKeys(deep, 'x')).not.toThrow();
  });
});
