/**
 * @module
 * The store contract's commits: atomic, in call order, and reported through onBatch.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { BatchStats, TwinStore } from '../types.ts';
import { device, sampleEvent, sampleTwin } from './samples-suite.ts';
import type { StoreUnderTest } from './samples-suite.ts';

/** The commit() tests, on the store of `subject`: atomicity, order and onBatch. */
export function describeCommitContract(subject: StoreUnderTest): void {
  describe('commit()', () => {
    let store: TwinStore;
    beforeEach(() => { store = subject.store; });

    it('applies every op of a commit together', async () => {
      await store.commit([
        { type: 'putTwin', twin: sampleTwin('a') },
        { type: 'putEvent', event: sampleEvent('a', 1) },
        { type: 'putCredential', credential: device('d1', 'a') },
      ]);
      expect(await store.getTwin('a')).toBeDefined();
      expect(await store.readHistory('a', { after: 0, limit: 10 })).toHaveLength(1);
      expect(await store.getCredential('device', 'd1')).toBeDefined();
    });

    it('resolves an empty commit', async () => {
      await expect(store.commit([])).resolves.toBeUndefined();
    });

    it('rejects a commit with an op that would break the key layout, applying none of it', async () => {
      const bad = store.commit([{ type: 'putTwin', twin: sampleTwin('good') }, { type: 'putTwin', twin: sampleTwin('bad!id') }]);
      await expect(bad).rejects.toMatchObject({ code: 'internal' });
      await expect(store.commit([{ type: 'putEvent', event: sampleEvent('a', 1.5) }])).rejects.toMatchObject({ code: 'internal' });
      expect(await store.getTwin('good')).toBeUndefined();
      await store.commit([{ type: 'putTwin', twin: sampleTwin('after') }]);
      expect(await store.getTwin('after')).toBeDefined();
    });

    it('applies concurrent commits in call order and resolves them in that order', async () => {
      const resolved: number[] = [];
      const commits = Array.from({ length: 50 }, (_, i) =>
        store.commit([{ type: 'putTwin', twin: sampleTwin('a', { version: i + 1 }) }]).then(() => { resolved.push(i); }));
      const last = store.commit([{ type: 'deleteTwin', id: 'b' }]);
      const recreate = store.commit([{ type: 'putTwin', twin: sampleTwin('b', { version: 7 }) }]);
      await Promise.all([...commits, last, recreate]);
      expect((await store.getTwin('a'))?.version).toBe(50);
      expect((await store.getTwin('b'))?.version).toBe(7);
      expect(resolved).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    it('reports every commit and op through onBatch', async () => {
      const stats: BatchStats[] = [];
      store.onBatch = (s) => { stats.push(s); };
      await Promise.all(Array.from({ length: 20 }, (_, i) =>
        store.commit([{ type: 'putTwin', twin: sampleTwin(`t${i}`) }, { type: 'putEvent', event: sampleEvent(`t${i}`, 1) }])));
      expect(stats.reduce((n, s) => n + s.commits, 0)).toBe(20);
      expect(stats.reduce((n, s) => n + s.ops, 0)).toBe(40);
      expect(stats.every((s) => s.ms >= 0 && s.bytes >= 0)).toBe(true);
    });

    it('an onBatch hook that throws does not fail commits', async () => {
      store.onBatch = () => { throw new Error('metrics broke'); };
      await expect(store.commit([{ type: 'putTwin', twin: sampleTwin('a') }])).resolves.toBeUndefined();
      expect(await store.getTwin('a')).toBeDefined();
    });
  });
}
