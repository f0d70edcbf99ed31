import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import { compileGlob } from './glob.ts';

/**
 * The previous matcher, kept as the reference for the semantics: the same fast paths for
 * `exact`, `prefix*` and `*suffix`, else iterative matching that retries from the last `*` only,
 * O(pattern × value). `?` and a `*` retry step over whole characters.
 */
function referenceGlob(pattern: string, value: string): boolean {
  if (!pattern.includes('?')) {
    const first = pattern.indexOf('*');
    if (first < 0) return value === pattern;
    if (first === pattern.length - 1) return value.startsWith(pattern.slice(0, -1));
    if (pattern.lastIndexOf('*') === 0) return value.endsWith(pattern.slice(1));
  }
  const width = (i: number) => {
    const c = value.charCodeAt(i);
    const d = value.charCodeAt(i + 1);
    return c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
  };
  let p = 0;
  let v = 0;
  let starP = -1;
  let starV = 0;
  while (v < value.length) {
    if (p < pattern.length) {
      const c = pattern[p];
      if (c === '*') { starP = p++; starV = v; continue; }
      if (c === '?') { p++; v += width(v); continue; }
      if (c === value[v]) { p++; v++; continue; }
    }
    if (starP < 0) return false;
    p = starP + 1;
    starV += width(starV);
    v = starV;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Times `fn` (a sanity bound only: generous, so a busy machine does not make the test flaky). */
function timed(fn: () => unknown): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}

describe('compileGlob()', () => {
  it('matches a pattern without wildcards only exactly', () => {
    const m = compileGlob('thermo');
    expect(m('thermo')).toBe(true);
    expect(m('thermo-1')).toBe(false);
    expect(m('Thermo')).toBe(false);
  });

  it('lets * match any run, including an empty one', () => {
    expect(compileGlob('thermo-*')('thermo-')).toBe(true);
    expect(compileGlob('thermo-*')('thermo-42')).toBe(true);
    expect(compileGlob('*-42')('thermo-42')).toBe(true);
    expect(compileGlob('a*b*c')('abc')).toBe(true);
    expect(compileGlob('a*b*c')('axxbyyc')).toBe(true);
    expect(compileGlob('a*b*c')('axxbyy')).toBe(false);
    expect(compileGlob('*')('')).toBe(true);
    expect(compileGlob('**')('anything')).toBe(true);
  });

  it('lets ? match exactly one character', () => {
    const m = compileGlob('t?o');
    expect(m('two')).toBe(true);
    expect(m('to')).toBe(false);
    expect(m('twoo')).toBe(false);
  });

  it('counts a surrogate pair as one character for ?', () => {
    expect(compileGlob('a?b')('a😀b')).toBe(true);
    expect(compileGlob('a??b')('a😀b')).toBe(false);
    expect(compileGlob('*?b')('😀b')).toBe(true);
  });

  it('is anchored at both ends', () => {
    expect(compileGlob('b*')('ab')).toBe(false);
    expect(compileGlob('*a')('ab')).toBe(false);
    expect(compileGlob('a?')('abc')).toBe(false);
  });

  it('treats regular-expression metacharacters literally', () => {
    expect(compileGlob('a.b*')('a.bc')).toBe(true);
    expect(compileGlob('a.b*')('axbc')).toBe(false);
    expect(compileGlob('(x)+[y]$^|\\{1}')('(x)+[y]$^|\\{1}')).toBe(true);
    expect(compileGlob('(x)+')('xx')).toBe(false);
  });

  it('backtracks across several stars', () => {
    expect(compileGlob('*ab*ab')('xabyabab')).toBe(true);
    expect(compileGlob('*a?c*')('zzabxabcq')).toBe(true);
    expect(compileGlob('*a?c*')('zzabxabq')).toBe(false);
  });

  it('stays fast on a pattern that would make a backtracking RegExp explode', () => {
    const pattern = `${'*a'.repeat(30)}b`;
    const value = 'a'.repeat(2000);
    const started = performance.now();
    expect(compileGlob(pattern)(value)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('agrees with the previous matcher on every pattern and value, surrogates included', () => {
    // A tiny alphabet makes matches likely; a pair, and lone halves of one, probe the
    // whole-character rule for `?` and for where a `*` may stop.
    const units = ['a', 'b', '\ud83d', '\ude00', '😀'];
    const text = (extra: string[]) => fc.array(fc.constantFrom(...units, ...extra), { maxLength: 10 }).map((cs) => cs.join(''));
    fc.assert(fc.property(text(['*', '*', '?', '?']), text([]), (pattern, value) => {
      expect(compileGlob(pattern)(value)).toBe(referenceGlob(pattern, value));
    }), { numRuns: 5000 });
  });

  it('matches a worst-case 256-character pattern against 32 KiB values in linear-ish time', () => {
    // Eight twins' worth of maximal values; the previous matcher needed ~100 ms for each.
    const values = Array.from({ length: 8 }, (_, i) => 'a'.repeat(32 * 1024 - i));
    const worst = [
      // Many short segments, each found at once, the last one failing at the very end.
      `${'*a'.repeat(127)}*b`,
      // One long segment that almost matches at every position.
      `*${'a'.repeat(127)}*${'a'.repeat(126)}b`,
      // The same with `?`, which needs a scan per candidate.
      `*${'a?'.repeat(127)}b`,
      `*${'?'.repeat(254)}b`,
      // A late anchor behind many stars and questions.
      `a*${'?*'.repeat(126)}b`,
    ];
    for (const pattern of worst) {
      expect(pattern.length).toBeLessThanOrEqual(256);
      const matches = compileGlob(pattern);
      expect(matches(`${values[0]!}b`)).toBe(true);
      let found = false;
      const ms = timed(() => { for (const value of values) found ||= matches(value); });
      // A generous bound (the work takes a few milliseconds) so a busy machine cannot flake it.
      expect({ pattern: pattern.slice(0, 12), found, fast: ms < 200 }).toEqual({ pattern: pattern.slice(0, 12), found: false, fast: true });
    }
  });
});
