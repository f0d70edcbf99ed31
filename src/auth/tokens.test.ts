import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hashSecret, newToken, parseToken, randomToken } from './tokens.ts';

describe('newToken() and parseToken()', () => {
  it('round-trip: a new token parses back to its kind, id and secret', () => {
    for (const kind of ['key', 'device'] as const) {
      for (let i = 0; i < 50; i++) {
        const { id, secret, token } = newToken(kind);
        expect(parseToken(token)).toEqual({ kind, id, secret });
      }
    }
  });

  it('marks keys dpk_ and device tokens dpd_', () => {
    expect(newToken('key').token.startsWith('dpk_')).toBe(true);
    expect(newToken('device').token.startsWith('dpd_')).toBe(true);
  });

  it('never repeats an id or a secret', () => {
    const tokens = Array.from({ length: 200 }, () => newToken('key'));
    expect(new Set(tokens.map((t) => t.id)).size).toBe(200);
    expect(new Set(tokens.map((t) => t.secret)).size).toBe(200);
  });

  it('uses only base64url characters in ids and secrets', () => {
    const { id, secret } = newToken('device');
    expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('parses a hand-written token at the length bounds', () => {
    expect(parseToken(`dpk_${'a'.repeat(8)}.${'s'.repeat(16)}`)).toEqual({ kind: 'key', id: 'a'.repeat(8), secret: 's'.repeat(16) });
    expect(parseToken(`dpd_${'A'.repeat(64)}.${'s'.repeat(256)}`)).toEqual({ kind: 'device', id: 'A'.repeat(64), secret: 's'.repeat(256) });
  });

  it('rejects malformed strings with null', () => {
    const good = `abcdefgh_-12.${'s'.repeat(20)}`;
    const malformed = [
      '',
      'dpk_',
      good, // no prefix
      `dpa_${good}`, // unknown prefix (the admin token's)
      `DPK_${good}`,
      `dpk_abcdefgh${'s'.repeat(20)}`, // no dot
      `dpk_.${'s'.repeat(20)}`, // empty id
      `dpk_abcdefg.${'s'.repeat(20)}`, // id too short
      `dpk_${'a'.repeat(65)}.${'s'.repeat(20)}`, // id too long
      `dpk_abcd+efgh.${'s'.repeat(20)}`, // id not base64url
      `dpk_abcd efgh.${'s'.repeat(20)}`,
      'dpk_abcdefgh.short', // secret too short
      `dpk_abcdefgh.${'s'.repeat(15)}`,
      `dpk_abcdefgh.${'s'.repeat(257)}`, // secret too long
      `dpk_abcdefgh.`,
      ` dpk_${good}`,
    ];
    for (const s of malformed) expect({ s, parsed: parseToken(s) }).toEqual({ s, parsed: null });
  });

  it('never throws, whatever the input', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
      const parsed = parseToken(s);
      if (parsed !== null) expect(s).toBe(`${parsed.kind === 'key' ? 'dpk_' : 'dpd_'}${parsed.id}.${parsed.secret}`);
    }));
  });
});

describe('randomToken()', () => {
  it('encodes n bytes as unpadded base64url', () => {
    expect(randomToken(32)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken(12)).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(randomToken(1)).toMatch(/^[A-Za-z0-9_-]{2}$/);
  });
});

describe('hashSecret()', () => {
  it('is stable: the same secret always hashes the same', async () => {
    const secret = newToken('key').secret;
    expect(await hashSecret(secret)).toBe(await hashSecret(secret));
  });

  it('is SHA-256 as unpadded base64url', async () => {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
    expect(await hashSecret('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    expect(await hashSecret('')).toBe('47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
  });

  it('differs for different secrets', async () => {
    expect(await hashSecret('secret-a')).not.toBe(await hashSecret('secret-b'));
  });
});

describe('constantTimeEqual()', () => {
  it('is true for equal strings and false for unequal ones', () => {
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'ab')).toBe(false);
    expect(constantTimeEqual('ab', 'abc')).toBe(false);
    expect(constantTimeEqual('', 'a')).toBe(false);
    expect(constantTimeEqual('a\u0000', 'a')).toBe(false); // a NUL must not pass for a missing char
    expect(constantTimeEqual('a', 'a\u0000')).toBe(false);
  });

  it('agrees with === on any two strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
      expect(constantTimeEqual(a, b)).toBe(a === b);
    }));
  });

  it('agrees with === on strings that differ in one place or only in length', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 1 }), fc.nat(), fc.string({ unit: 'binary', maxLength: 2 }), (a, i, extra) => {
      const at = i % a.length;
      const changed = `${a.slice(0, at)}${String.fromCharCode((a.charCodeAt(at) + 1) % 0x10000)}${a.slice(at + 1)}`;
      expect(constantTimeEqual(a, changed)).toBe(false);
      expect(constantTimeEqual(a, a + extra)).toBe(extra === '');
      expect(constantTimeEqual(a + extra, a)).toBe(extra === '');
    }));
  });
});
