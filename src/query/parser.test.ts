import { describe, it, expect } from 'vitest';
import { MAX_FILTER_DEPTH, MAX_GLOB_LENGTH, parse } from './parser.ts';

function errorOf(source: string): { message: string; code: string; details: unknown } {
  try {
    parse(source);
  } catch (err) {
    return err as { message: string; code: string; details: unknown };
  }
  throw new Error(`no error for ${source}`);
}

const a = { kind: 'compare', path: ['tags', 'a'], op: '==', value: 1 } as const;
const b = { kind: 'compare', path: ['tags', 'b'], op: '==', value: 2 } as const;
const c = { kind: 'compare', path: ['tags', 'c'], op: '==', value: 3 } as const;

describe('parse()', () => {
  it('binds and tighter than or', () => {
    expect(parse('tags.a == 1 or tags.b == 2 and tags.c == 3'))
      .toEqual({ kind: 'or', operands: [a, { kind: 'and', operands: [b, c] }] });
    expect(parse('tags.a == 1 and tags.b == 2 or tags.c == 3'))
      .toEqual({ kind: 'or', operands: [{ kind: 'and', operands: [a, b] }, c] });
  });

  it('lets parentheses override precedence', () => {
    expect(parse('(tags.a == 1 or tags.b == 2) and tags.c == 3'))
      .toEqual({ kind: 'and', operands: [{ kind: 'or', operands: [a, b] }, c] });
  });

  it('binds not tighter than and', () => {
    expect(parse('not tags.a == 1 and tags.b == 2'))
      .toEqual({ kind: 'and', operands: [{ kind: 'not', operand: a }, b] });
    expect(parse('not not tags.a == 1')).toEqual({ kind: 'not', operand: { kind: 'not', operand: a } });
  });

  it('keeps long and/or chains flat', () => {
    const tree = parse(Array.from({ length: 120 }, () => 'tags.a == 1').join(' and '));
    expect(tree).toMatchObject({ kind: 'and' });
    expect(tree.kind === 'and' && tree.operands.length).toBe(120);
  });

  it('reads quoted segments, keywords as later segments and whitespace inside paths', () => {
    expect(parse('tags."site name".not == "x"')).toMatchObject({ path: ['tags', 'site name', 'not'] });
    expect(parse('"reported" . temp >= -2')).toEqual({ kind: 'compare', path: ['reported', 'temp'], op: '>=', value: -2 });
    expect(parse('exists( delta . mode )')).toEqual({ kind: 'exists', path: ['delta', 'mode'] });
  });

  it('reads every literal and the glob operator', () => {
    expect(parse('id == "x"')).toMatchObject({ value: 'x' });
    expect(parse('version == 3')).toMatchObject({ value: 3 });
    expect(parse('sync.inSync == true')).toMatchObject({ value: true });
    expect(parse('sync.inSync != false')).toMatchObject({ op: '!=', value: false });
    expect(parse('connection.via == null')).toMatchObject({ value: null });
    expect(parse('id ~ "a*"')).toEqual({ kind: 'glob', path: ['id'], pattern: 'a*' });
  });

  it.each([
    ['', 'Cannot parse filter at 1: unexpected end, expected a condition', 1],
    ['   ', 'Cannot parse filter at 4: unexpected end, expected a condition', 4],
    ['temp > 30', 'Cannot parse filter at 1: unknown field "temp" (a path starts with one of id, version, desired, reported, delta, tags, metadata, sync, connection, createdAt, updatedAt)', 1],
    ['reported.temp', 'Cannot parse filter at 14: unexpected end, expected an operator', 14],
    ['reported.temp 30', 'Cannot parse filter at 15: expected an operator, found a number', 15],
    ['reported.temp >', 'Cannot parse filter at 16: unexpected end, expected a value', 16],
    ['reported.temp > )', 'Cannot parse filter at 17: expected a value, found ")"', 17],
    ['tags.site == berlin', 'Cannot parse filter at 14: expected a value, found "berlin" (strings are double-quoted)', 14],
    ['id ~ 5', 'Cannot parse filter at 6: expected a string pattern, found a number', 6],
    ['reported. == 1', 'Cannot parse filter at 11: expected a field name, found "=="', 11],
    ['(id == "a"', 'Cannot parse filter at 11: unexpected end, expected "and", "or" or ")"', 11],
    ['(id == "a" id', 'Cannot parse filter at 12: expected "and", "or" or ")", found "id"', 12],
    ['id == "a")', 'Cannot parse filter at 10: expected "and", "or" or the end, found ")"', 10],
    ['id == "a" AND id == "b"', 'Cannot parse filter at 11: expected "and", "or" or the end, found "AND"', 11],
    ['id == "a" and', 'Cannot parse filter at 14: unexpected end, expected a condition', 14],
    ['id == "a" and or', 'Cannot parse filter at 15: expected a condition, found "or"', 15],
    ['exists delta.mode', 'Cannot parse filter at 8: expected "(", found "delta"', 8],
    ['exists(delta.mode', 'Cannot parse filter at 18: unexpected end, expected ")"', 18],
    ['exists()', 'Cannot parse filter at 8: expected a field, found ")"', 8],
    ['exists(nope)', 'Cannot parse filter at 8: unknown field "nope" (a path starts with one of id, version, desired, reported, delta, tags, metadata, sync, connection, createdAt, updatedAt)', 8],
    ['id == "a" or tags.x == "unterminated', 'Cannot parse filter at 24: unterminated string', 24],
    ['nope == "unterminated', 'Cannot parse filter at 1: unknown field "nope" (a path starts with one of id, version, desired, reported, delta, tags, metadata, sync, connection, createdAt, updatedAt)', 1],
  ])('reports %j as malformed at the right position', (source, message, position) => {
    const err = errorOf(source);
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe(message);
    expect(err.details).toEqual({ position });
  });

  it('refuses a filter longer than 2048 characters before parsing it', () => {
    expect(() => parse(`id == "${'x'.repeat(2041)}"`)).toThrow(/^Cannot parse filter at 2049: longer than 2048 characters$/);
    expect(() => parse('('.repeat(100_000))).toThrow(/longer than 2048 characters/);
    expect(parse(`id == "${'x'.repeat(2040)}"`)).toMatchObject({ kind: 'compare' });
  });

  it('refuses a ~ pattern longer than 256 characters at the position of the pattern', () => {
    expect(MAX_GLOB_LENGTH).toBe(256);
    expect(parse(`id ~ "${'*a'.repeat(128)}"`)).toMatchObject({ kind: 'glob', pattern: '*a'.repeat(128) });
    const err = errorOf(`tags.x == 1 and id ~ "${'*a'.repeat(128)}?"`);
    expect(err.message).toBe('Cannot parse filter at 22: glob pattern longer than 256 characters');
    expect(err.details).toEqual({ position: 22 });
    // Counted after escapes are decoded: 256 escaped characters are 256, not 1536.
    expect(parse(`id ~ "${'\\u0061'.repeat(256)}"`)).toMatchObject({ pattern: 'a'.repeat(256) });
    expect(errorOf(`id ~ "${'\\u0061'.repeat(257)}"`).message).toBe('Cannot parse filter at 6: glob pattern longer than 256 characters');
    // An == literal is not a pattern and keeps only the filter length limit.
    expect(parse(`id == "${'a'.repeat(1000)}"`)).toMatchObject({ kind: 'compare' });
  });

  it('accepts nesting up to the limit and refuses one level more', () => {
    const nested = (n: number): string => `${'('.repeat(n)}id == "a"${')'.repeat(n)}`;
    expect(parse(nested(MAX_FILTER_DEPTH))).toMatchObject({ kind: 'compare' });
    expect(errorOf(nested(MAX_FILTER_DEPTH + 1)).message).toBe('Cannot parse filter at 33: nested deeper than 32 levels');
    expect(errorOf(`${'not '.repeat(33)}id == "a"`).message).toBe('Cannot parse filter at 129: nested deeper than 32 levels');
    expect(errorOf(`${'not ('.repeat(17)}id == "a"${')'.repeat(17)}`).code).toBe('invalid_request');
  });

  it('refuses deep nesting without exhausting the stack', () => {
    expect(errorOf('('.repeat(2000)).message).toBe('Cannot parse filter at 33: nested deeper than 32 levels');
    expect(errorOf('not '.repeat(500)).code).toBe('invalid_request');
  });
});
