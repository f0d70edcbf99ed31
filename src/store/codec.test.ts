import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from './codec.ts';

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

describe('codec', () => {
  it('writes plain RFC 8949 CBOR with shortest lengths and no tags', () => {
    // {"a": 1, "b": [true, null], "c": "ü"}: map(3), text keys, no record or extension tags.
    expect(hex(encodeValue({ a: 1, b: [true, null], c: 'ü' }))).toBe('a3616101616282f5f6616362c3bc');
    expect(hex(encodeValue({}))).toBe('a0');
  });

  it('decodes maps into plain objects, not Map', () => {
    const decoded = decodeValue<Record<string, unknown>>(encodeValue({ x: { y: { z: [1, { w: 2 }] } } }));
    expect(decoded).toEqual({ x: { y: { z: [1, { w: 2 }] } } });
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(decoded['x']).not.toBeInstanceOf(Map);
  });

  it('keeps numbers JSON can hold as numbers', () => {
    const numbers = [0, 1, -1, 19.5, 0.1, 1e-7, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 1e21, -1e300];
    const decoded = decodeValue<unknown[]>(encodeValue(numbers));
    expect(decoded).toEqual(numbers);
    expect(decoded.every((n) => typeof n === 'number')).toBe(true);
  });

  it('does not overwrite an earlier result with a later encoding', () => {
    const first = encodeValue({ first: 'x'.repeat(100) });
    const copy = first.slice();
    for (let i = 0; i < 1000; i++) encodeValue({ other: i, pad: 'y'.repeat(i % 200) });
    expect(first).toEqual(copy);
  });
});
