import { describe, it, expect } from 'vitest';
import { createLexer } from './lexer.ts';
import type { Token } from './lexer.ts';

function tokens(source: string): Token[] {
  const lexer = createLexer(source);
  const out: Token[] = [];
  for (;;) {
    const t = lexer.next();
    out.push(t);
    if (t.kind === 'end') return out;
  }
}

function errorOf(source: string): { message: string; code: string; details: unknown } {
  try {
    tokens(source);
  } catch (err) {
    return err as { message: string; code: string; details: unknown };
  }
  throw new Error(`no error for ${source}`);
}

describe('createLexer()', () => {
  it('splits words, operators, punctuation and literals, skipping whitespace', () => {
    expect(tokens(' a.b-c\t>=\n-1.5e2 ( ) "x" ~ ').map((t) => [t.kind, 'text' in t ? t.text : 'value' in t ? t.value : undefined, t.offset]))
      .toEqual([
        ['word', 'a', 1], ['.', undefined, 2], ['word', 'b-c', 3], ['op', '>=', 7], ['number', -150, 10],
        ['(', undefined, 17], [')', undefined, 19], ['string', 'x', 21], ['op', '~', 25], ['end', undefined, 27],
      ]);
  });

  it('reads every two-character operator before its one-character prefix', () => {
    expect(tokens('== != <= >= < >').flatMap((t) => (t.kind === 'op' ? [t.text] : []))).toEqual(['==', '!=', '<=', '>=', '<', '>']);
  });

  it('decodes JSON string escapes', () => {
    const [t] = tokens(String.raw`"a\"b\\c\/\n\t\u00e9\ud83d\ude00"`);
    expect(t).toEqual({ kind: 'string', value: 'a"b\\c/\n\té😀', offset: 0 });
  });

  it('reads JSON numbers', () => {
    expect(tokens('0 -0.25 12e3 1E-2').flatMap((t) => (t.kind === 'number' ? [t.value] : []))).toEqual([0, -0.25, 12000, 0.01]);
  });

  it('refuses numbers JSON refuses', () => {
    expect(errorOf('x 01').message).toBe('Cannot parse filter at 3: invalid number "01"');
    expect(errorOf('1.').message).toBe('Cannot parse filter at 1: invalid number "1."');
    expect(errorOf('-').message).toBe('Cannot parse filter at 1: invalid number "-"');
    expect(errorOf('3x').message).toBe('Cannot parse filter at 1: invalid number "3x"');
    expect(errorOf('1e999').message).toBe('Cannot parse filter at 1: number "1e999" is out of range');
  });

  it('reports an unterminated string at its opening quote', () => {
    expect(errorOf('ab "cd').message).toBe('Cannot parse filter at 4: unterminated string');
    expect(errorOf('"cd\\"').message).toBe('Cannot parse filter at 1: unterminated string');
  });

  it('refuses invalid escapes and raw control characters in strings', () => {
    expect(errorOf('"a\\qb"').message).toBe('Cannot parse filter at 3: invalid escape "\\\\q" in string');
    expect(errorOf('"\\u12g4"').message).toBe('Cannot parse filter at 2: invalid escape "\\\\u12g4" in string');
    expect(errorOf('"a\nb"').message).toBe('Cannot parse filter at 3: unescaped control character "\\n" in string');
  });

  it('names an unexpected character, with a hint for = and !', () => {
    const err = errorOf('a # b');
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe('Cannot parse filter at 3: unexpected character "#"');
    expect(err.details).toEqual({ position: 3 });
    expect(errorOf('a = 1').message).toBe('Cannot parse filter at 3: unexpected "=" (did you mean "=="?)');
    expect(errorOf('!a').message).toBe('Cannot parse filter at 1: unexpected "!" (did you mean "!=" or "not"?)');
    expect(errorOf('😀').message).toBe('Cannot parse filter at 1: unexpected character "😀"');
  });
});
