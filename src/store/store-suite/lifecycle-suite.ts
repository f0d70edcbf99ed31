/**
 * @module
 * The store contract's life cycle: open twice, close waiting for commits, and every call after close.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { TwinStore } from '../types.ts';
import { collect, sampleTwin } from './samples-suite.ts';
import type { StoreUnderTest } from './samples-suite.ts';

/** The open() and close() tests, on the (open) store of `subject`. */
export function describeLifecycleContract(subject: StoreUnderTest): void {
  describe('open and close', () => {
    let store: TwinStore;
    beforeEach(() => { store = subject.store; });

    it('open() twice is harmless', async () => {
      await store.open();
      await store.commit([{ type: 'putTwin', twin: sampleTwin('a') }]);
      expect(await store.getTwin('a')).toBeDefined();
    });

    it('close() waits for queued commits', async () => {
      const settled: boolean[] = [];
      const commits = Array.from({ length: 30 }, (_, i) =>
        store.commit([{ type: 'putTwin', twin: sampleTwin(`t${i}`) }]).then(() => { settled.push(true); }));
      await store.close();
      expect(settled).toHaveLength(30);
      await Promise.all(commits);
    });

    it('after close() every method rejects with unavailable', async () => {
      await store.commit([{ type: 'putTwin', twin: sampleTwin('a') }]);
      await store.close();
      const closed = { code: 'unavailable', message: 'Store is closed' };
      await expect(store.getTwin('a')).rejects.toMatchObject(closed);
      await expect(store.commit([{ type: 'putTwin', twin: sampleTwin('b') }])).rejects.toMatchObject(closed);
      await expect(store.deleteTwinOps('a')).rejects.toMatchObject(closed);
      await expect(collect(store.listTwins({}))).rejects.toMatchObject(closed);
      await expect(store.readHistory('a', { after: 0, limit: 1 })).rejects.toMatchObject(closed);
      await expect(store.getCredential('key', 'a')).rejects.toMatchObject(closed);
      await expect(store.listCredentials('key')).rejects.toMatchObject(closed);
      await expect(store.open()).rejects.toMatchObject(closed);
      await expect(store.close()).resolves.toBeUndefined();
    });

    it('a commit made while closing is refused, and the queued ones still land', async () => {
      const queued = store.commit([{ type: 'putTwin', twin: sampleTwin('a') }]);
      const closing = store.close();
      await expect(store.commit([{ type: 'putTwin', twin: sampleTwin('b') }])).rejects.toMatchObject({ code: 'unavailable' });
      await queued;
      await closing;
    });
  });
}
