/**
 * @module
 * The store contract's change history: reads by version, deletes, and deleting a twin whole.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../twin/types.ts';
import type { StoreOp, TwinStore } from '../types.ts';
import { ids, richDocument, sampleEvent, sampleTwin } from './samples-suite.ts';
import type { StoreUnderTest } from './samples-suite.ts';

/** The history tests, on the store of `subject`: readHistory(), the event ops and deleteTwinOps(). */
export function describeHistoryContract(subject: StoreUnderTest): void {
  describe('history', () => {
    let store: TwinStore;
    beforeEach(async () => {
      store = subject.store;
      const ops: StoreOp[] = [];
      for (let v = 1; v <= 12; v++) ops.push({ type: 'putEvent', event: sampleEvent('a', v) });
      for (let v = 1; v <= 3; v++) ops.push({ type: 'putEvent', event: sampleEvent('a.b', v) });
      for (let v = 1; v <= 2; v++) ops.push({ type: 'putEvent', event: sampleEvent('ab', v) });
      ops.push({ type: 'putTwin', twin: sampleTwin('a', { version: 12 }) });
      ops.push({ type: 'putTwin', twin: sampleTwin('a.b', { version: 3 }) });
      ops.push({ type: 'putTwin', twin: sampleTwin('ab', { version: 2 }) });
      await store.commit(ops);
    });

    const versions = (events: ChangeEvent[]) => events.map((e) => e.version);

    it('round-trips an event with its client token and unicode patch', async () => {
      const event = sampleEvent('t1', 1, { clientToken: 'tök-1', via: 'coap', patch: { reported: richDocument() }, delta: { temp: 21 } });
      await store.commit([{ type: 'putEvent', event }]);
      const [read] = await store.readHistory('t1', { after: 0, limit: 10 });
      expect(read).toEqual(event);
      expect(Object.getPrototypeOf(read!.patch)).toBe(Object.prototype);
    });

    it('reads versions after `after`, ascending, in numeric not string order', async () => {
      expect(versions(await store.readHistory('a', { after: 0, limit: 100 }))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(versions(await store.readHistory('a', { after: 8, limit: 100 }))).toEqual([9, 10, 11, 12]);
    });

    it('returns at most `limit` events', async () => {
      expect(versions(await store.readHistory('a', { after: 5, limit: 3 }))).toEqual([6, 7, 8]);
      expect(await store.readHistory('a', { after: 0, limit: 0 })).toEqual([]);
    });

    it('answers nothing after the last version, and everything for a negative `after`', async () => {
      expect(await store.readHistory('a', { after: 12, limit: 10 })).toEqual([]);
      expect(await store.readHistory('a', { after: 1e12, limit: 10 })).toEqual([]);
      expect(versions(await store.readHistory('a.b', { after: -5, limit: 10 }))).toEqual([1, 2, 3]);
      expect(await store.readHistory('nope', { after: 0, limit: 10 })).toEqual([]);
    });

    it('keeps the history of an id apart from ids it is a prefix of', async () => {
      expect((await store.readHistory('a', { after: 0, limit: 100 })).every((e) => e.twin === 'a')).toBe(true);
      expect(versions(await store.readHistory('ab', { after: 0, limit: 100 }))).toEqual([1, 2]);
    });

    it('deleteEvent removes single versions', async () => {
      await store.commit([1, 2, 3].map((version) => ({ type: 'deleteEvent', twin: 'a', version })));
      expect(versions(await store.readHistory('a', { after: 0, limit: 100 }))).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);
    });

    it('refuses a non-integer `after` or a negative `limit` as invalid_request', async () => {
      await expect(store.readHistory('a', { after: Number.NaN, limit: 10 })).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(store.readHistory('a', { after: 1.5, limit: 10 })).rejects.toMatchObject({ code: 'invalid_request' });
      await expect(store.readHistory('a', { after: 0, limit: -1 })).rejects.toMatchObject({ code: 'invalid_request' });
    });

    it('deleteTwinOps() lists the snapshot and exactly this twin\'s events', async () => {
      const ops = await store.deleteTwinOps('a');
      expect(ops[0]).toEqual({ type: 'deleteTwin', id: 'a' });
      expect(ops.slice(1)).toEqual(Array.from({ length: 12 }, (_, i) => ({ type: 'deleteEvent', twin: 'a', version: i + 1 })));
    });

    it('committing deleteTwinOps() removes the twin and its history and leaves its neighbours', async () => {
      await store.commit(await store.deleteTwinOps('a'));
      expect(await store.getTwin('a')).toBeUndefined();
      expect(await store.readHistory('a', { after: 0, limit: 100 })).toEqual([]);
      expect((await store.getTwin('a.b'))?.version).toBe(3);
      expect(versions(await store.readHistory('a.b', { after: 0, limit: 100 }))).toEqual([1, 2, 3]);
      expect(versions(await store.readHistory('ab', { after: 0, limit: 100 }))).toEqual([1, 2]);
      expect(await ids(store, {})).toEqual(['a.b', 'ab']);
    });

    it('deleteTwinOps() of an unknown twin is just its deleteTwin', async () => {
      expect(await store.deleteTwinOps('nope')).toEqual([{ type: 'deleteTwin', id: 'nope' }]);
    });
  });
}
