import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connectionOf, storedConnection, storedContact } from './connection.ts';
import { planCreate } from './document.ts';
import { DEFAULT_LIMITS } from './types.ts';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const { state } = planCreate('a', {}, { now: new Date(T0).toISOString(), via: 'http', limits: DEFAULT_LIMITS });

describe('storedConnection()', () => {
  it('is offline with nothing known for a twin never seen', () => {
    expect(storedConnection(state, T0, 1000)).toEqual({ online: false, via: null, lastSeenAt: null });
  });

  it('is online within the liveness window of the persisted contact and offline after it', () => {
    const seen = { ...state, lastSeenAt: new Date(T0).toISOString(), lastSeenVia: 'http' as const };
    expect(storedConnection(seen, T0 + 999, 1000)).toEqual({ online: true, via: 'http', lastSeenAt: seen.lastSeenAt });
    expect(storedConnection(seen, T0 + 1000, 1000).online).toBe(false);
  });
});

describe('storedContact()', () => {
  it('is null for a twin never seen, and the persisted contact otherwise', () => {
    expect(storedContact(state)).toBeNull();
    expect(storedContact({ ...state, lastSeenAt: new Date(T0).toISOString(), lastSeenVia: 'coap' })).toEqual({ at: T0, via: 'coap' });
  });
});

describe('connectionOf()', () => {
  it('is online while a device is attached, even with no contact known', () => {
    expect(connectionOf(null, 1, T0, 1000)).toEqual({ online: true, via: null, lastSeenAt: null });
    expect(connectionOf(null, 0, T0, 1000)).toEqual({ online: false, via: null, lastSeenAt: null });
  });

  it('is online exactly when attached or the contact is younger than the liveness window', () => {
    fc.assert(fc.property(fc.nat(5), fc.nat(10_000), fc.integer({ min: 1, max: 5000 }), (attached, age, liveness) => {
      const c = connectionOf({ at: T0, via: 'ws' }, attached, T0 + age, liveness);
      expect(c.online).toBe(attached > 0 || age < liveness);
      expect(c).toMatchObject({ via: 'ws', lastSeenAt: new Date(T0).toISOString() });
    }));
  });

  it('agrees with storedConnection() for a twin with no device attached', () => {
    const seen = { ...state, lastSeenAt: new Date(T0).toISOString(), lastSeenVia: 'coap' as const };
    for (const now of [T0, T0 + 999, T0 + 1000]) expect(connectionOf(storedContact(seen), 0, now, 1000)).toEqual(storedConnection(seen, now, 1000));
  });
});
