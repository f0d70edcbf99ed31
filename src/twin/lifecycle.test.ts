import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DoppelError } from '../errors.ts';
import type { StoredCredential } from '../store/types.ts';
import { planCreate, planPatch } from './document.ts';
import { changeOps, expiredVersions, planDeviceCredential, planRemoval } from './lifecycle.ts';
import { DEFAULT_LIMITS } from './types.ts';
import type { TwinState } from './types.ts';

const T0 = '2026-11-23T10:00:00.000Z';
const ctx = { now: T0, via: 'http' as const, limits: DEFAULT_LIMITS };
const created = planCreate('a', { desired: { temp: 21 } }, ctx); // pending: the device has not reported
const credential = (id: string): StoredCredential => ({ kind: 'device', id, twin: 'a', hash: 'h', createdAt: T0 });

describe('expiredVersions()', () => {
  it('keeps exactly the newest `retention` events when applied after every version', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 20 }), (versions, retention) => {
      const history = new Set<number>();
      for (let v = 1; v <= versions; v++) {
        history.add(v);
        for (const gone of expiredVersions(v, retention)) history.delete(gone);
      }
      const newest = Array.from({ length: Math.min(versions, retention) }, (_, i) => versions - i).sort((x, y) => x - y);
      expect([...history].sort((x, y) => x - y)).toEqual(newest);
    }));
  });

  it('expires nothing while history is not full', () => {
    expect(expiredVersions(3, 3)).toEqual([]);
    expect(expiredVersions(4, 3)).toEqual([3 - 2]);
  });
});

describe('changeOps()', () => {
  it('stores the twin and its event, indexes a create that left the twin pending', () => {
    expect(changeOps(null, created, 10)).toEqual([
      { type: 'putTwin', twin: created.state }, { type: 'putEvent', event: created.event }, { type: 'putPending', twin: 'a', since: T0 },
    ]);
  });

  it('drops the pending entry when the device converges, and the event that left history', () => {
    const next = planPatch(created.state, { reported: { temp: 21 } }, ctx)!;
    expect(changeOps(created.state, next, 1)).toEqual([
      { type: 'putTwin', twin: next.state }, { type: 'putEvent', event: next.event },
      { type: 'deletePending', twin: 'a', since: T0 }, { type: 'deleteEvent', twin: 'a', version: 1 },
    ]);
  });
});

describe('planRemoval()', () => {
  it('deletes the device credential and the pending entry (after the store\'s own ops)', () => {
    const withToken: TwinState = { ...created.state, tokenId: 'tok' };
    expect(planRemoval(withToken, undefined)).toEqual({
      ops: [{ type: 'deleteCredential', kind: 'device', id: 'tok' }, { type: 'deletePending', twin: 'a', since: T0 }],
      revokedTokenId: 'tok',
    });
  });

  it('revokes nothing for a twin without a token, and accepts the current version', () => {
    expect(planRemoval(created.state, 1)).toEqual({ ops: [{ type: 'deletePending', twin: 'a', since: T0 }], revokedTokenId: null });
  });

  it('refuses with version_conflict when the twin moved on', () => {
    let err: DoppelError | undefined;
    try { planRemoval(created.state, 7); } catch (e) { err = e as DoppelError; }
    expect(err).toMatchObject({ code: 'version_conflict', details: { expected: 7, actual: 1 } });
  });
});

describe('planDeviceCredential()', () => {
  it('stores the credential and names it on the twin, without a new version', () => {
    const plan = planDeviceCredential(created.state, credential('c1'));
    expect(plan.state).toEqual({ ...created.state, tokenId: 'c1' });
    expect(plan.ops).toEqual([{ type: 'putCredential', credential: credential('c1') }, { type: 'putTwin', twin: plan.state }]);
    expect(plan.revokedTokenId).toBeNull();
  });

  it('revokes the previous credential in the same batch', () => {
    const plan = planDeviceCredential({ ...created.state, tokenId: 'c1' }, credential('c2'));
    expect(plan.ops).toContainEqual({ type: 'deleteCredential', kind: 'device', id: 'c1' });
    expect(plan.revokedTokenId).toBe('c1');
    expect(plan.state.tokenId).toBe('c2');
  });
});
