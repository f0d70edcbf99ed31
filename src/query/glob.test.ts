import { describe, it, expect } from 'vitest';
import { compileGlob } from './glob.ts';

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
});
