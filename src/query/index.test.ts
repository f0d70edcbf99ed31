import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { isDoppelError } from '../errors.ts';
import { parseFilter } from './index.ts';

const twin = {
  id: 'thermo-42',
  version: 17,
  desired: { temp: 21, mode: 'eco' },
  reported: { temp: 31.5, mode: 'eco', fw: '1.2.0', list: [1, 2], nested: { deep: { x: 'y' } }, nothing: null },
  delta: { temp: 21, mode: 'boost' },
  tags: { site: 'berlin', 'room no.': '4.01', 'a.b': 'dot' },
  metadata: { desired: { temp: { updatedAt: '2026-11-23T10:00:00.000Z' } }, reported: {} },
  sync: { inSync: false, pendingSince: '2026-11-23T10:00:00.000Z' },
  connection: { online: true, via: 'coap', lastSeenAt: '2026-11-23T10:05:00.000Z' },
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-23T10:05:00.000Z',
};

function matches(source: string, subject: object = twin): boolean {
  return parseFilter(source).test(subject);
}

describe('parseFilter()', () => {
  it('keeps the source it was compiled from', () => {
    expect(parseFilter('id == "a"').source).toBe('id == "a"');
  });

  it('evaluates the examples of the contract', () => {
    expect(matches('reported.temp > 30')).toBe(true);
    expect(matches('tags.site == "berlin" and sync.inSync == false')).toBe(true);
    expect(matches('exists(delta.mode)')).toBe(true);
    expect(matches('id ~ "thermo-*"')).toBe(true);
    expect(matches('reported.temp > 32')).toBe(false);
    expect(matches('tags.site == "paris" and sync.inSync == false')).toBe(false);
    expect(matches('exists(delta.fw)')).toBe(false);
    expect(matches('id ~ "valve-*"')).toBe(false);
  });

  it('compares equality of every literal kind', () => {
    expect(matches('id == "thermo-42"')).toBe(true);
    expect(matches('version == 17')).toBe(true);
    expect(matches('version == 17.0')).toBe(true);
    expect(matches('version == 1.7e1')).toBe(true);
    expect(matches('connection.online == true')).toBe(true);
    expect(matches('reported.nothing == null')).toBe(true);
    expect(matches('version != 18')).toBe(true);
    expect(matches('version != 17')).toBe(false);
  });

  it('never equates values of different JSON types', () => {
    expect(matches('version == "17"')).toBe(false);
    expect(matches('sync.inSync == 0')).toBe(false);
    expect(matches('reported.nothing == false')).toBe(false);
    expect(matches('reported.list == 1')).toBe(false);
    expect(matches('desired == null')).toBe(false);
    expect(matches('version != "17"')).toBe(true);
  });

  it('makes == false and != true on a missing path', () => {
    expect(matches('reported.humidity == null')).toBe(false);
    expect(matches('reported.humidity != null')).toBe(true);
    expect(matches('reported.humidity != 3')).toBe(true);
    expect(matches('sync.pendingSince == "x"', { ...twin, sync: { inSync: true } })).toBe(false);
  });

  it('orders numbers numerically', () => {
    expect(matches('reported.temp < 31.6')).toBe(true);
    expect(matches('reported.temp <= 31.5')).toBe(true);
    expect(matches('reported.temp > 31.5')).toBe(false);
    expect(matches('reported.temp >= 31.5')).toBe(true);
    expect(matches('version > 9')).toBe(true);
    expect(matches('version < -1')).toBe(false);
  });

  it('orders strings by code units', () => {
    expect(matches('updatedAt > "2026-11-23T00:00:00.000Z"')).toBe(true);
    expect(matches('reported.fw < "1.10.0"')).toBe(false);
    expect(matches('tags.site >= "berlin"')).toBe(true);
    expect(matches('tags.site <= "Berlin"')).toBe(false);
  });

  it('is false for every ordering of mismatched or missing values', () => {
    for (const op of ['<', '<=', '>', '>=']) {
      expect(matches(`version ${op} "17"`)).toBe(false);
      expect(matches(`tags.site ${op} 5`)).toBe(false);
      expect(matches(`connection.online ${op} true`)).toBe(false);
      expect(matches(`reported.nothing ${op} null`)).toBe(false);
      expect(matches(`reported.missing ${op} 1`)).toBe(false);
      expect(matches(`desired ${op} 1`)).toBe(false);
    }
  });

  it('matches globs anchored at both ends, only against strings', () => {
    expect(matches('id ~ "thermo-??"')).toBe(true);
    expect(matches('id ~ "thermo-?"')).toBe(false);
    expect(matches('id ~ "*42"')).toBe(true);
    expect(matches('id ~ "thermo"')).toBe(false);
    expect(matches('version ~ "17"')).toBe(false);
    expect(matches('reported.missing ~ "*"')).toBe(false);
  });

  it('treats regular-expression metacharacters in a glob literally', () => {
    expect(matches('id ~ "a.b*"', { id: 'a.bc' })).toBe(true);
    expect(matches('id ~ "a.b*"', { id: 'axbc' })).toBe(false);
    expect(matches('tags."room no." ~ "4.0?"')).toBe(true);
    expect(matches('tags."room no." ~ "4\\\\.01"')).toBe(false);
    expect(matches('id ~ "[a-z]*"', { id: '[a-z]42' })).toBe(true);
    expect(matches('id ~ "[a-z]*"', { id: 'b42' })).toBe(false);
  });

  it('gives and precedence over or', () => {
    // true or (false and false) is true; read left to right, (true or false) and false is not.
    expect(matches('version == 17 or version == 1 and tags.site == "paris"')).toBe(true);
    expect(matches('(version == 17 or version == 1) and tags.site == "paris"')).toBe(false);
  });

  it('negates with not, which binds tighter than and', () => {
    expect(matches('not version == 17')).toBe(false);
    expect(matches('not not version == 17')).toBe(true);
    expect(matches('not version == 1 and id == "thermo-42"')).toBe(true);
    expect(matches('not (version == 17 and id == "x")')).toBe(true);
    expect(matches('not exists(delta.fw)')).toBe(true);
  });

  it('counts null as existing and a missing or array-indexed path as not', () => {
    expect(matches('exists(reported.nothing)')).toBe(true);
    expect(matches('exists(reported.nested.deep.x)')).toBe(true);
    expect(matches('exists(reported.nested.deep.z)')).toBe(false);
    expect(matches('exists(reported.list."0")')).toBe(false);
    expect(matches('exists(reported.temp.value)')).toBe(false);
    expect(matches('exists(desired)')).toBe(true);
  });

  it('resolves quoted segments holding dots and spaces as single keys', () => {
    expect(matches('tags."a.b" == "dot"')).toBe(true);
    expect(matches('tags.a.b == "dot"')).toBe(false);
    expect(matches('tags."room no." == "4.01"')).toBe(true);
  });

  it('never resolves inherited properties', () => {
    expect(matches('exists(tags.constructor)')).toBe(false);
    expect(matches('exists(tags.toString)')).toBe(false);
    expect(matches('exists(tags."__proto__")')).toBe(false);
    expect(matches('exists(id.length)')).toBe(false);
  });

  it('never throws, whatever object it is given', () => {
    const filter = parseFilter('reported.temp > 1 or id ~ "*x" or not exists(tags.a) or version != 2');
    for (const subject of [{}, [], { reported: 5 }, { reported: [1] }, Object.create(null) as object, { id: 5 }]) {
      expect(() => filter.test(subject)).not.toThrow();
    }
  });

  it('either compiles any string or throws invalid_request', () => {
    const alphabet = fc.constantFrom(
      ...'()."\\*?~=!<>-+ 019eE_aAz\t\n'.split(''), 'and', 'or', 'not', 'exists', 'true', 'false', 'null',
      'id', 'tags', 'reported', 'version', '\\u0041', '😀',
    );
    const filterish = fc.array(alphabet, { maxLength: 40 }).map((parts) => parts.join(''));
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), filterish), (source) => {
      try {
        const filter = parseFilter(source);
        expect(typeof filter.test(twin)).toBe('boolean');
      } catch (err) {
        expect(isDoppelError(err)).toBe(true);
        expect((err as { code: string }).code).toBe('invalid_request');
        expect((err as Error).message).toMatch(/^Cannot parse filter at \d+: /);
      }
    }), { numRuns: 3000 });
  });

  it('negates exactly under not, and never throws on any JSON twin', () => {
    const path = fc.tuple(
      fc.constantFrom('id', 'version', 'desired', 'reported', 'tags'),
      fc.array(fc.constantFrom('a', 'b', '"c d"'), { maxLength: 2 }),
    ).map(([head, rest]) => [head, ...rest].join('.'));
    const literal = fc.oneof(
      fc.integer({ min: -3, max: 3 }).map(String),
      fc.constantFrom('"a"', '"b"', 'true', 'false', 'null'),
    );
    const condition = fc.oneof(
      fc.tuple(path, fc.constantFrom('==', '!=', '<', '<=', '>', '>='), literal).map(([p, op, l]) => `${p} ${op} ${l}`),
      fc.tuple(path, fc.constantFrom('"a*"', '"?"', '"*"')).map(([p, g]) => `${p} ~ ${g}`),
      path.map((p) => `exists(${p})`),
    );
    const { expr } = fc.letrec<{ expr: string }>((tie) => ({
      expr: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        condition,
        fc.tuple(tie('expr'), fc.constantFrom('and', 'or'), tie('expr')).map(([x, op, y]) => `(${x}) ${op} (${y})`),
        tie('expr').map((x) => `not ${x}`),
      ),
    }));
    const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b', 'ab', true, false, null));
    const doc = fc.dictionary(fc.constantFrom('a', 'b', 'c d'), fc.oneof(value, fc.dictionary(fc.constantFrom('a', 'b', 'c d'), value)));
    const subject = fc.record({ id: fc.constantFrom('a', 'ab', 'x'), version: fc.integer({ min: -3, max: 3 }), desired: doc, reported: doc, tags: doc }, { requiredKeys: [] });
    fc.assert(fc.property(expr, subject, (source, t) => {
      const plain = parseFilter(source).test(t);
      expect(parseFilter(`not (${source})`).test(t)).toBe(!plain);
    }), { numRuns: 1000 });
  });

  it('evaluates a compiled filter over many twins cheaply', () => {
    const filter = parseFilter('tags.site == "berlin" and reported.temp > 30 and id ~ "thermo-*"');
    const twins = Array.from({ length: 10_000 }, (_, i) => ({ ...twin, id: `thermo-${i}`, reported: { temp: i % 60 } }));
    const started = performance.now();
    expect(twins.filter((t) => filter.test(t))).toHaveLength(4_823);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
