import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { credentialIdOfKvKey, credentialKvKey, storeNames, twinIdOfSubject, twinIdOfToken, twinSubject, twinToken } from './names.ts';

const idChar = fc.constantFrom(...'aZ09._:-'.split(''));
const twinId = fc.array(idChar, { minLength: 1, maxLength: 40 }).map((cs) => `a${cs.join('')}`);

describe('twin subject tokens', () => {
  it('escape the subject separator and themselves, and map back to the id', () => {
    expect(twinToken('site-a:thermo.42_x')).toBe('site-a_3Athermo_2E42_5Fx');
    fc.assert(fc.property(twinId, (id) => {
      const token = twinToken(id);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(twinIdOfToken(token)).toBe(id);
    }));
  });

  it('are distinct for distinct ids (no two twins share a subject)', () => {
    fc.assert(fc.property(twinId, twinId, (a, b) => {
      if (a !== b) expect(twinToken(a)).not.toBe(twinToken(b));
    }));
  });

  it('put each twin on one subject of its namespace', () => {
    const names = storeNames('prod');
    expect(twinSubject(names, 'a.b')).toBe('dpl.prod.twin.a_2Eb');
    expect(twinIdOfSubject(names, twinSubject(names, 'a.b'))).toBe('a.b');
    expect(names.stream).toBe('DPL_prod_TWINS');
  });
});

describe('credential KV keys', () => {
  it('hold any id in KV key characters, kept apart by kind', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, unit: 'binary' }), (id) => {
      expect(credentialKvKey('device', id)).toMatch(/^d\.[A-Za-z0-9_-]+$/);
      expect(credentialKvKey('key', id)).toMatch(/^k\.[A-Za-z0-9_-]+$/);
    }));
    expect(credentialKvKey('key', 'ab')).not.toBe(credentialKvKey('key', 'ab\u0000'));
  });
});

describe('storeNames()', () => {
  it('refuses a namespace that is not one subject token', () => {
    for (const bad of ['', 'a.b', 'a b', '*', 'x'.repeat(33)]) expect(() => storeNames(bad)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});

describe('credentialIdOfKvKey', () => {
  it('gives back the id of every credential key, and nothing for other keys', () => {
    for (const id of ['abc', 'k_1-2', 'ü/+=?', 'a'.repeat(40)]) {
      expect(credentialIdOfKvKey(credentialKvKey('key', id))).toBe(id);
      expect(credentialIdOfKvKey(credentialKvKey('device', id))).toBe(id);
    }
    expect(credentialIdOfKvKey('x.abc')).toBeUndefined();
    expect(credentialIdOfKvKey('k.')).toBeUndefined();
  });
});
