import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  credentialKey, credentialRange, historyKey, historyRange, inRange, keyWriteOf, twinKey, twinRange, versionOfHistoryKey,
} from './keys.ts';

const idChar = fc.constantFrom(...'aAzZ09._:-');
const twinId = fc.tuple(fc.constantFrom(...'aAz09'), fc.array(idChar, { maxLength: 6 })).map(([h, t]) => h + t.join(''));

describe('store keys', () => {
  it('history keys sort in version order', () => {
    fc.assert(fc.property(twinId, fc.nat(9_999_999_999), fc.nat(9_999_999_999), (id, a, b) => {
      expect(historyKey(id, a) < historyKey(id, b)).toBe(a < b);
      expect(versionOfHistoryKey(historyKey(id, a))).toBe(a);
    }));
  });

  it("one twin's history range never holds another twin's events", () => {
    fc.assert(fc.property(twinId, twinId, fc.nat(1000), (a, b, v) => {
      fc.pre(a !== b);
      expect(inRange(historyKey(b, v), historyRange(a, -1))).toBe(false);
      expect(inRange(historyKey(a, v), historyRange(a, -1))).toBe(true);
    }));
  });

  it('a twin range holds exactly the ids with the prefix, after `after`', () => {
    fc.assert(fc.property(twinId, fc.array(idChar, { maxLength: 4 }).map((c) => c.join('')), fc.option(twinId), (id, prefix, after) => {
      const range = twinRange(after === null ? { prefix } : { prefix, after });
      expect(inRange(twinKey(id), range)).toBe(id.startsWith(prefix) && (after === null || id > after));
    }));
  });

  it("each credential kind's range holds exactly that kind's credentials, and no twin or event", () => {
    // Any UTF-16 units, biased towards those around the `!` separator and the range bounds.
    const unit = fc.oneof(fc.constantFrom('!', '"', ' ', '\u0000', '\uffff', 'k', 'd'), fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)));
    const credentialId = fc.array(unit, { minLength: 1, maxLength: 8 }).map((cs) => cs.join(''));
    fc.assert(fc.property(credentialId, twinId, (id, twin) =>
      inRange(credentialKey('key', id), credentialRange('key'))
      && inRange(credentialKey('device', id), credentialRange('device'))
      && !inRange(credentialKey('device', id), credentialRange('key'))
      && !inRange(credentialKey('key', id), credentialRange('device'))
      && (['key', 'device'] as const).every((kind) =>
        !inRange(twinKey(twin), credentialRange(kind)) && !inRange(historyKey(twin, 1), credentialRange(kind)))));
    expect(keyWriteOf({ type: 'deleteCredential', kind: 'key', id: 'x' })).toEqual({ type: 'del', key: 'c!k!x' });
    expect(keyWriteOf({ type: 'deleteCredential', kind: 'device', id: 'x' })).toEqual({ type: 'del', key: 'c!d!x' });
    expect(() => keyWriteOf({ type: 'deleteCredential', kind: 'other' as never, id: 'x' })).toThrow(/Cannot store credential kind "other"/);
  });

  it('refuses twin ids and versions that would break the layout', () => {
    expect(() => keyWriteOf({ type: 'deleteTwin', id: 'a!b' })).toThrow(/Cannot store twin id "a!b"/);
    expect(() => keyWriteOf({ type: 'deleteEvent', twin: 'a', version: 1e10 })).toThrow(/Cannot store event version/);
    expect(() => keyWriteOf({ type: 'deleteEvent', twin: 'a', version: -1 })).toThrow(/Cannot store event version/);
    expect(keyWriteOf({ type: 'deleteEvent', twin: 'a', version: 7 })).toEqual({ type: 'del', key: 'h!a!0000000007' });
  });
});
