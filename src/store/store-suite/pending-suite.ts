/**
 * @module
 * The store contract's pending index: counting, the oldest entry, and its key order.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { StoreOp, TwinStore } from '../types.ts';
import { collect, sampleTwin } from './samples-suite.ts';
import type { StoreUnderTest } from './samples-suite.ts';

/** The pending-index tests, on the store of `subject`: countPending(), oldestPending() and their ops. */
export function describePendingContract(subject: StoreUnderTest): void {
  describe('pending index', () => {
    let store: TwinStore;
    beforeEach(() => { store = subject.store; });

    const at = (day: number) => `2026-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;
    it('counts the entries and finds the oldest, whatever the order of the ids', async () => {
      expect(await store.countPending()).toBe(0);
      expect(await store.oldestPending()).toBeUndefined();
      await store.commit([
        { type: 'putPending', twin: 'a', since: at(3) }, { type: 'putPending', twin: 'z', since: at(1) }, { type: 'putPending', twin: 'm', since: at(2) },
      ]);
      expect(await store.countPending()).toBe(3);
      expect(await store.oldestPending()).toEqual({ twin: 'z', since: at(1) });
    });

    it('deletePending removes exactly that entry; twins and history are untouched by the index', async () => {
      await store.commit([{ type: 'putTwin', twin: sampleTwin('a') }, { type: 'putPending', twin: 'a', since: at(1) }, { type: 'putPending', twin: 'b', since: at(2) }]);
      await store.commit([{ type: 'deletePending', twin: 'a', since: at(1) }]);
      expect(await store.countPending()).toBe(1);
      expect(await store.oldestPending()).toEqual({ twin: 'b', since: at(2) });
      expect(await store.getTwin('a')).toBeDefined();
      expect(await collect(store.listTwins({}))).toHaveLength(1);
    });

    it('counts past a thousand entries, and no twin or history record with them', async () => {
      const ops: StoreOp[] = [{ type: 'putTwin', twin: sampleTwin('a') }];
      for (let i = 0; i < 2345; i++) ops.push({ type: 'putPending', twin: `t-${i}`, since: at(1 + (i % 28)) });
      await store.commit(ops);
      expect(await store.countPending()).toBe(2345);
    });

    it('refuses a pendingSince that is not an ISO timestamp (it would break the order)', async () => {
      await expect(store.commit([{ type: 'putPending', twin: 'a', since: 'yesterday' }])).rejects.toMatchObject({ code: 'internal' });
    });
  });
}
