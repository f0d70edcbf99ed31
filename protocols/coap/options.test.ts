import { describe, expect, it } from 'vitest';
import { decodeUint, encodeBlock, encodeUint, isWellFormed, parseBlock } from './options.ts';

describe('CoAP option values', () => {
  it('encodeUint() and decodeUint() round-trip, 0 being the empty value (RFC 7252 §3.2)', () => {
    for (const n of [0, 1, 255, 256, 65_535, 1 << 24, 2 ** 40]) expect(decodeUint(encodeUint(n))).toBe(n);
    expect(encodeUint(0)).toHaveLength(0);
  });

  it('parseBlock() reads NUM, M and SZX and refuses SZX 7 (RFC 7959 §2.2)', () => {
    expect(parseBlock(encodeBlock({ num: 300, more: true, szx: 2 }))).toEqual({ num: 300, more: true, szx: 2 });
    expect(parseBlock(Buffer.from([0x0f]))).toBeNull();
    expect(parseBlock(Buffer.alloc(4))).toBeNull();
  });
});

describe('isWellFormed()', () => {
  it('accepts well-formed messages', () => {
    expect(isWellFormed(Buffer.from([0x40, 0x00, 0x00, 0x01]))).toBe(true); // Empty CON (ping)
    expect(isWellFormed(Buffer.from([0x41, 0x01, 0x00, 0x01, 0xaa, 0xb1, 0x74, 0xff, 0x7b]))).toBe(true);
  });

  it('refuses message format errors (RFC 7252 §3)', () => {
    const cases: Array<[string, number[]]> = [
      ['short header', [0x40, 0x01, 0x00]],
      ['version 2', [0x80, 0x01, 0x00, 0x01]],
      ['token length 9', [0x49, 0x01, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['token past the end', [0x44, 0x01, 0x00, 0x01, 1]],
      ['Empty message with bytes after the header', [0x40, 0x00, 0x00, 0x01, 0xff]],
      ['option past the end', [0x40, 0x01, 0x00, 0x01, 0xbd, 0x05]],
      ['reserved delta 15', [0x40, 0x01, 0x00, 0x01, 0xf1, 0x00]],
      ['payload marker without payload', [0x40, 0x01, 0x00, 0x01, 0xff]],
    ];
    for (const [what, bytes] of cases) expect(isWellFormed(Buffer.from(bytes)), what).toBe(false);
  });
});
