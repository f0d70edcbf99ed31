import { describe, expect, it } from 'vitest';
import type { DoppelError } from '../errors.ts';
import type { Scope } from '../store/types.ts';
import { authorize, listingPrefix } from './principal.ts';
import type { Action, Principal } from './principal.ts';

const SCOPES: Scope[] = ['twins:read', 'twins:write', 'keys:admin'];
const ACTIONS: Action[] = ['twins:read', 'twins:write', 'keys:admin', 'device:read', 'device:report'];
const TWINS: Array<string | undefined> = [undefined, 'site-a:1', 'site-a:2', 'site-b:1', 'site-a'];

/** Every subset of the scopes. */
const scopeSets: Scope[][] = Array.from({ length: 1 << SCOPES.length }, (_, mask) => SCOPES.filter((_, i) => mask & (1 << i)));

const principals: Principal[] = [
  { kind: 'admin' },
  { kind: 'device', id: 'dev-1', twin: 'site-a:1' },
  ...scopeSets.flatMap((scopes) => [null, 'site-a:'].map((prefix): Principal => ({ kind: 'key', id: 'key-1', scopes, prefix }))),
];

/** CONTRACT §4, written out independently of the implementation. */
function allowed(p: Principal, action: Action, twin: string | undefined): boolean {
  switch (p.kind) {
    case 'admin':
      return true;
    case 'device':
      // A device token may read its own twin's device view and write its own reported state, nothing else.
      return (action === 'device:read' || action === 'device:report') && twin === p.twin;
    case 'key': {
      if (action === 'device:report') return false; // reported state is the device's (or admin's)
      const needed: Scope = action === 'device:read' ? 'twins:read' : action;
      const inPrefix = twin === undefined || p.prefix === null || twin.startsWith(p.prefix);
      return p.scopes.includes(needed) && inPrefix;
    }
  }
}

function outcome(p: Principal, action: Action, twin: string | undefined): 'allowed' | string {
  try {
    authorize(p, action, twin);
    return 'allowed';
  } catch (err) {
    return (err as DoppelError).code;
  }
}

describe('authorize()', () => {
  it('follows the table for every principal, action and twin', () => {
    let checked = 0;
    for (const p of principals) {
      for (const action of ACTIONS) {
        for (const twin of TWINS) {
          const expected = allowed(p, action, twin) ? 'allowed' : 'forbidden';
          expect({ p, action, twin, result: outcome(p, action, twin) }).toEqual({ p, action, twin, result: expected });
          checked++;
        }
      }
    }
    expect(checked).toBe(principals.length * ACTIONS.length * TWINS.length);
  });

  it('lets the admin do everything', () => {
    for (const action of ACTIONS) for (const twin of TWINS) expect(outcome({ kind: 'admin' }, action, twin)).toBe('allowed');
  });

  it('lets a device read and report its own twin only', () => {
    const device: Principal = { kind: 'device', id: 'd', twin: 'thermo-42' };
    expect(outcome(device, 'device:read', 'thermo-42')).toBe('allowed');
    expect(outcome(device, 'device:report', 'thermo-42')).toBe('allowed');
    expect(outcome(device, 'device:read', 'thermo-43')).toBe('forbidden');
    expect(outcome(device, 'device:report', 'thermo-4')).toBe('forbidden');
    expect(outcome(device, 'twins:read', 'thermo-42')).toBe('forbidden');
    expect(outcome(device, 'twins:write', 'thermo-42')).toBe('forbidden');
    expect(outcome(device, 'keys:admin', undefined)).toBe('forbidden');
    expect(outcome(device, 'device:read', undefined)).toBe('forbidden');
  });

  it('says why a device is refused', () => {
    const device: Principal = { kind: 'device', id: 'd', twin: 'a' };
    expect(() => authorize(device, 'device:read', 'b')).toThrow('belongs to another twin');
    expect(() => authorize(device, 'twins:write', 'a')).toThrow('may only read its own twin');
  });

  it('limits a key to its scopes and its prefix', () => {
    const key: Principal = { kind: 'key', id: 'k', scopes: ['twins:read'], prefix: 'site-a:' };
    expect(outcome(key, 'twins:read', 'site-a:7')).toBe('allowed');
    expect(outcome(key, 'twins:read', undefined)).toBe('allowed'); // listing, confined by listingPrefix
    expect(outcome(key, 'device:read', 'site-a:7')).toBe('allowed');
    expect(outcome(key, 'twins:read', 'site-b:7')).toBe('forbidden');
    expect(outcome(key, 'twins:write', 'site-a:7')).toBe('forbidden');
    expect(outcome(key, 'device:report', 'site-a:7')).toBe('forbidden');
    expect(() => authorize(key, 'twins:write', 'site-a:7')).toThrow('"twins:write"');
    expect(() => authorize(key, 'twins:read', 'site-b:7')).toThrow('"site-a:"');
  });

  it('never lets a key write reported state, whatever its scopes', () => {
    const key: Principal = { kind: 'key', id: 'k', scopes: [...SCOPES], prefix: null };
    expect(outcome(key, 'device:report', 'x')).toBe('forbidden');
  });
});

describe('listingPrefix()', () => {
  it('is the key\'s prefix, else empty', () => {
    expect(listingPrefix({ kind: 'admin' })).toBe('');
    expect(listingPrefix({ kind: 'key', id: 'k', scopes: ['twins:read'], prefix: null })).toBe('');
    expect(listingPrefix({ kind: 'key', id: 'k', scopes: ['twins:read'], prefix: 'site-a:' })).toBe('site-a:');
    expect(listingPrefix({ kind: 'device', id: 'd', twin: 'a' })).toBe('');
  });
});
