/**
 * @module
 * The store contract's twin snapshots: round trips, replacement, copies and deletion.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../twin/types.ts';
import type { TwinStore } from '../types.ts';
import { T0, collect, richDocument, sampleTwin } from './samples-suite.ts';
import type { StoreUnderTest } from './samples-suite.ts';

/** The twin tests, on the store of `subject`: getTwin and the putTwin/deleteTwin ops. */
export function describeTwinContract(subject: StoreUnderTest): void {
  describe('twins', () => {
    let store: TwinStore;
    beforeEach(() => { store = subject.store; });

    it('getTwin() answers undefined for an absent twin', async () => {
      expect(await store.getTwin('nope')).toBeUndefined();
    });

    it('round-trips a twin with unicode, nested data and awkward numbers into plain objects', async () => {
      const twin = sampleTwin('thermo-42', {
        version: 17, desired: richDocument(), reported: { temp: 19.5, fw: '1.2.0' }, delta: { temp: 21 },
        tags: { site: 'берлин' }, metadata: { desired: { temp: { updatedAt: T0 } }, reported: {} },
        pendingSince: T0, lastSeenAt: T0, lastSeenVia: 'coap', tokenId: 'tok-1',
      });
      await store.commit([{ type: 'putTwin', twin }]);
      const read = await store.getTwin('thermo-42');
      expect(read).toEqual(twin);
      expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(read!.desired['nested'])).toBe(Object.prototype);
      expect(read!.desired['nested']).not.toBeInstanceOf(Map);
      expect(Array.isArray(read!.desired['numbers'])).toBe(true);
    });

    it('putTwin() replaces the previous snapshot', async () => {
      await store.commit([{ type: 'putTwin', twin: sampleTwin('a', { desired: { x: 1, y: 2 } }) }]);
      await store.commit([{ type: 'putTwin', twin: sampleTwin('a', { version: 2, desired: { x: 3 } }) }]);
      expect(await store.getTwin('a')).toEqual(sampleTwin('a', { version: 2, desired: { x: 3 } }));
    });

    it('reads return fresh objects that callers may mutate', async () => {
      await store.commit([{ type: 'putTwin', twin: sampleTwin('a', { desired: { x: { y: 1 } } }) }]);
      const first = await store.getTwin('a');
      (first!.desired['x'] as JsonObject)['y'] = 99;
      first!.version = 42;
      const [listed] = await collect(store.listTwins({}));
      listed!.tags['mutated'] = true;
      expect(await store.getTwin('a')).toEqual(sampleTwin('a', { desired: { x: { y: 1 } } }));
    });

    it('commit() stores the documents as they were when it was called', async () => {
      const twin = sampleTwin('a', { desired: { x: 1 } });
      const done = store.commit([{ type: 'putTwin', twin }]);
      twin.desired['x'] = 2;
      await done;
      expect((await store.getTwin('a'))!.desired).toEqual({ x: 1 });
    });

    it('deleteTwin removes the snapshot, and deleting an absent twin is a no-op', async () => {
      await store.commit([{ type: 'putTwin', twin: sampleTwin('a') }]);
      await store.commit([{ type: 'deleteTwin', id: 'a' }, { type: 'deleteTwin', id: 'never-was' }]);
      expect(await store.getTwin('a')).toBeUndefined();
    });
  });
}
