/**
 * Fuzzes the filter language (`src/query/`) as a pure function: token soup, generated valid
 * filters with one junk character spliced in at a token boundary, deep parentheses and `not`
 * chains, and evaluation against arbitrary JSON twins (arrays where objects are expected,
 * `__proto__` keys, null-prototype objects, long strings against 256-character globs).
 *
 * Invariants: parseFilter returns a filter or throws `invalid_request` whose message is
 * `Cannot parse filter at <p>: …` with `details.position === p` inside the input (or just past
 * it); a junk character at a token boundary is reported exactly there; nesting never exhausts the
 * stack; test() always returns a boolean; nothing touches a prototype. FUZZ_RUNS multiplies runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDoppelError } from '../../src/errors.ts';
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, parseFilter } from '../../src/query/index.ts';
import type { Filter } from '../../src/query/index.ts';
import { corpus, expectNoPollution, params } from './support.ts';

/** The filter, or the position its error names (after checking the error's whole shape). */
function compile(source: string): Filter | { position: number } {
  try {
    return parseFilter(source);
  } catch (err) {
    expect(isDoppelError(err), `${JSON.stringify(source)} threw ${String(err)}`).toBe(true);
    const e = err as { code: string; message: string; details?: { position?: unknown } };
    expect(e.code).toBe('invalid_request');
    const m = /^Cannot parse filter at (\d+): ./.exec(e.message);
    expect(m, e.message).not.toBeNull();
    const position = Number(m![1]);
    expect(e.details?.position).toBe(position);
    expect(position).toBeGreaterThanOrEqual(1);
    expect(position).toBeLessThanOrEqual(Math.min(source.length, MAX_FILTER_LENGTH) + 1);
    return { position };
  }
}

const FIELDS = ['id', 'version', 'desired', 'reported', 'delta', 'tags', 'metadata', 'sync', 'connection', 'createdAt', 'updatedAt'];

/** Valid filters as token lists, so a splice point is always a token boundary. */
const path = fc.tuple(fc.constantFrom(...FIELDS), fc.array(fc.oneof(fc.constantFrom('a', 'b_c', 'x-1', 'not', 'and'), fc.string({ maxLength: 5 }).map((s) => JSON.stringify(s))), { maxLength: 3 }))
  .map(([head, rest]) => [head, ...rest.flatMap((s) => ['.', s])]);
const literal = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)), fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)), fc.constantFrom('true', 'false', 'null', '-0', '1e3'));
const condition = fc.oneof(
  fc.tuple(path, fc.constantFrom('==', '!=', '<', '<=', '>', '>='), literal).map(([p, op, l]) => [...p, op, l]),
  fc.tuple(path, fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s))).map(([p, g]) => [...p, '~', g]),
  path.map((p) => ['exists', '(', ...p, ')']),
);
const { filter: validTokens } = fc.letrec<{ filter: string[] }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true, maxDepth: 8 },
    condition,
    fc.tuple(tie('filter'), fc.constantFrom('and', 'or'), tie('filter')).map(([a, op, b]) => [...a, op, ...b]),
    tie('filter').map((f) => ['not', ...f]),
    tie('filter').map((f) => ['(', ...f, ')']),
  ),
}));

/** Twins of any JSON shape, with the hostile corners: arrays for objects, __proto__ keys, null prototypes. */
const jsonish = fc.jsonValue({ maxDepth: 3 });
const section = fc.oneof(jsonish, fc.dictionary(fc.constantFrom('a', 'b_c', 'x-1', '__proto__', 'constructor', ''), jsonish, { maxKeys: 4 }));
const twins = fc.oneof(
  fc.record({ id: fc.string(), version: fc.oneof(fc.integer(), jsonish), desired: section, reported: section, tags: section, delta: section, sync: section }, { requiredKeys: [] }),
  section.filter((v): v is object => typeof v === 'object' && v !== null),
  fc.constant(Object.create(null) as object),
);

describe('parseFilter() under fuzzing', () => {
  it('compiles or refuses token soup with a position, and the compiled filter never throws', () => {
    const pieces = fc.constantFrom('(', ')', '.', '"', '\\', '"a"', '"\\u00e9"', '"\\ud800"', '==', '!=', '<', '<=', '>', '>=', '~', '=', '!', ' ', '\t', '\n',
      'and', 'or', 'not', 'exists', 'true', 'false', 'null', 'Not', 'AND', ...FIELDS, 'a', '_', '-', '-1', '01', '1e999', '1.5e-3', '0x10', '😀', '\u0000', '\u2028', '#', '*', '?');
    const soup = fc.oneof(fc.array(pieces, { maxLength: 30 }).map((p) => p.join('')), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
    fc.assert(fc.property(soup, fc.array(twins, { maxLength: 3 }), (source, subjects) => {
      const f = compile(source);
      if ('test' in f) for (const s of subjects) expect(typeof f.test(s)).toBe('boolean');
    }), params(0xf1a1, 1500));
    expectNoPollution();
  });

  it('accepts every generated valid filter and reports a junk character exactly where it was spliced', () => {
    fc.assert(fc.property(validTokens, fc.nat(), fc.constantFrom('#', '=', '!', '@', '$', '😀', ';'), (tokens, at, junk) => {
      const source = tokens.join(' ');
      if (source.length > MAX_FILTER_LENGTH) return;
      const f = compile(source);
      expect('test' in f, source).toBe(true);
      const i = at % (tokens.length + 1);
      const before = tokens.slice(0, i).join(' ');
      const spliced = `${before}${i > 0 ? ' ' : ''}${junk} ${tokens.slice(i).join(' ')}`;
      if (spliced.length > MAX_FILTER_LENGTH) return;
      expect(compile(spliced), spliced).toEqual({ position: before.length + (i > 0 ? 1 : 0) + 1 });
    }), params(0xf1a2, 1500));
  });

  it('evaluates any valid filter against any JSON twin to a boolean, never resolving inherited keys', () => {
    fc.assert(fc.property(validTokens, fc.array(twins, { minLength: 1, maxLength: 4 }), (tokens, subjects) => {
      const f = compile(tokens.join(' '));
      if (!('test' in f)) return;
      for (const s of subjects) expect(typeof f.test(s)).toBe('boolean');
    }), params(0xf1a3, 1000));
    const inherited = compile('exists(tags.constructor) or exists(tags.toString) or tags.hasOwnProperty == null or exists(tags."__proto__")') as Filter;
    expect(inherited.test({ tags: {} })).toBe(false);
    expectNoPollution();
  });

  it('refuses nesting over the limit by position, for any mix of parentheses and not, without a stack overflow', () => {
    const opener = fc.constantFrom('(', 'not ', 'not (', '((');
    fc.assert(fc.property(fc.array(opener, { minLength: 1, maxLength: 60 }), fc.nat({ max: 5000 }), (openers, repeat) => {
      const all = [...openers, ...Array.from({ length: repeat }, () => openers[0]!)];
      const open = all.join('');
      const depth = all.reduce((d, o) => d + (o.match(/\(|not/g)?.length ?? 0), 0);
      const source = `${open}id == "a"${')'.repeat((open.match(/\(/g) ?? []).length)}`;
      const f = compile(source);
      if (source.length > MAX_FILTER_LENGTH) expect(f).toEqual({ position: MAX_FILTER_LENGTH + 1 });
      else if (depth > MAX_FILTER_DEPTH) expect(f).toHaveProperty('position');
      else expect(typeof (f as Filter).test({ id: 'a' })).toBe('boolean');
    }), params(0xf1a4, 300));
  });

  it('matches worst-case globs against long values without throwing', () => {
    const glob = fc.array(fc.constantFrom('*', '?', 'a', 'b', '😀', '\\\\', '.'), { maxLength: 256 }).map((g) => g.join('')).filter((g) => JSON.parse(JSON.stringify(g)).length <= 256);
    fc.assert(fc.property(glob, fc.string({ unit: fc.constantFrom('a', 'b', '😀', '\ud800'), maxLength: 2000 }), (g, value) => {
      const f = compile(`id ~ ${JSON.stringify(g)}`);
      if ('test' in f) expect(typeof f.test({ id: value })).toBe('boolean');
    }), params(0xf1a5, 300));
  });

  describe('corpus', () => {
    for (const entry of corpus('filter')) {
      it(`${entry.name}: ${entry.about}`, () => {
        const source = typeof entry.repeat === 'object' && entry.repeat !== null
          ? Object.entries(entry.repeat as Record<string, number>).map(([s, n]) => s.repeat(n)).join('')
          : entry.source as string;
        const f = compile(source);
        if (typeof entry.position === 'number') expect(f).toEqual({ position: entry.position });
        else expect(typeof (f as Filter).test({ id: 'x', tags: { a: 1 } })).toBe('boolean');
        expectNoPollution();
      });
    }
  });
});
