import { encode } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCbor } from './cbor.ts';

const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');

describe('decodeCbor()', () => {
  it('decodes the JSON data model, definite and indefinite lengths, all float widths', () => {
    expect(decodeCbor(hex('a2 6161 01 6162 82 f5 f6'))).toEqual({ a: 1, b: [true, null] });
    expect(decodeCbor(hex('bf 6161 9f 20 3903e7 ff ff'))).toEqual({ a: [-1, -1000] });
    expect(decodeCbor(hex('7f 6161 6162 ff'))).toBe('ab');
    expect([hex('f93e00'), hex('fa3fc00000'), hex('fb3ff8000000000000')].map(decodeCbor)).toEqual([1.5, 1.5, 1.5]);
  });

  it('agrees with JSON for any JSON value cbor-x encodes', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const plain = JSON.parse(JSON.stringify(v)) as unknown;
      expect(decodeCbor(encode(plain))).toEqual(plain);
    }));
  });

  it('refuses what JSON cannot hold: tags, byte strings, undefined, simple values, non-text keys, non-finite numbers', () => {
    const refused: Array<[string, string]> = [
      ['a tag', 'c1 01'], ['a byte string', '42 abcd'], ['undefined', 'f7'], ['simple 16', 'f0'],
      ['an integer key', 'a1 01 02'], ['an array key', 'a1 80 02'], ['NaN', 'f9 7e00'], ['Infinity', 'fb 7ff0000000000000'],
      ['an integer over 2^53', '1b 0020000000000000'],
    ];
    for (const [what, bytes] of refused) expect(() => decodeCbor(hex(bytes)), what).toThrow(expect.objectContaining({ code: 'invalid_document' }));
  });

  it('refuses malformed input as invalid_request', () => {
    for (const bytes of ['', 'a1 61', '61', '01 02', 'ff', '1c', '7f 01 ff', '62 c328']) {
      expect(() => decodeCbor(hex(bytes)), bytes).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
  });

  it('keeps __proto__ an own key and never sets a prototype', () => {
    // {"__proto__": {"polluted": true}}
    const value = decodeCbor(Buffer.concat([hex('a1 69'), Buffer.from('__proto__'), hex('a1 68'), Buffer.from('polluted'), hex('f5')])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect((value as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('bounds nesting and refuses absurd lengths before allocating', () => {
    expect(() => decodeCbor(Buffer.alloc(100, 0x81))).toThrow(expect.objectContaining({ code: 'too_deep' }));
    expect(() => decodeCbor(hex('9b 0000000100000000'))).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});
