import { describe, expect, it } from 'vitest';
import type { DoppelError } from '../errors.ts';
import { assertTwinId, isTwinId, MAX_TWIN_ID_LENGTH } from './ids.ts';

function thrown(fn: () => unknown): DoppelError {
  try { fn(); } catch (err) { return err as DoppelError; }
  throw new Error('expected a throw');
}

describe('isTwinId()', () => {
  it('accepts letters, digits and . _ : - after a letter or digit', () => {
    for (const id of ['a', '7', 'thermo-42', 'site-a:room_1.dev', 'A.b_c:d-e', 'x'.repeat(MAX_TWIN_ID_LENGTH)]) {
      expect(isTwinId(id), id).toBe(true);
    }
  });

  it('refuses empty, over-long, badly started and foreign-character ids', () => {
    for (const id of ['', 'x'.repeat(MAX_TWIN_ID_LENGTH + 1), '-a', '.a', '_a', ':a', 'a b', 'a/b', 'é', 'a\n', 'a\u0000', 'ａ']) {
      expect(isTwinId(id), JSON.stringify(id)).toBe(false);
    }
  });

  it('refuses non-strings', () => {
    for (const v of [undefined, null, 42, ['a'], { id: 'a' }]) expect(isTwinId(v)).toBe(false);
  });
});

describe('assertTwinId()', () => {
  it('returns a valid id unchanged', () => {
    expect(assertTwinId('thermo-42')).toBe('thermo-42');
  });

  it('says which characters are allowed', () => {
    const err = thrown(() => assertTwinId('a b'));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe('Invalid twin id "a b": only A-Z a-z 0-9 . _ : - are allowed');
  });

  it('gives a reason for each kind of invalid id', () => {
    expect(thrown(() => assertTwinId('')).message).toBe('Invalid twin id "": must not be empty');
    expect(thrown(() => assertTwinId('-a')).message).toBe('Invalid twin id "-a": must start with a letter or digit');
    expect(thrown(() => assertTwinId('x'.repeat(200))).message).toMatch(/^Invalid twin id "x{40}…": longer than 128 characters$/);
    expect(thrown(() => assertTwinId(42)).message).toBe('Invalid twin id: expected a string, got number');
    expect(thrown(() => assertTwinId(null)).code).toBe('invalid_request');
  });
});
