/**
 * @module
 * The store contract's connector records: definitions, and each connector's outbox read in seq
 * order (numeric, not textual), apart from every other connector's. Skipped by stores without them.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { OutboxEntry, StoredConnector, TwinStore } from '../types.ts';
import type { StoreUnderTest } from './samples-suite.ts';

const connector = (id: string): StoredConnector => ({
  id, kind: 'webhook', prefix: null, filter: null, events: ['change'], maxAgeSeconds: 60, url: 'http://x/', secret: 's'.repeat(16), createdAt: '2026-01-01T00:00:00.000Z',
});
const entry = (c: string, seq: number, twin = 'a'): OutboxEntry => ({ connector: c, seq, twin, type: 'change', eventId: `${twin}:${seq}`, at: '2026-01-01T00:00:00.000Z', event: { twin, version: seq } });

export function describeConnectorContract(subject: StoreUnderTest): void {
  describe('connectors and their outboxes', () => {
    let store: TwinStore;
    beforeEach(() => { store = subject.store; });

    it('keeps definitions in id order and deletes them', async () => {
      if (store.listConnectors === undefined) return;
      await store.commit([{ type: 'putConnector', connector: connector('b') }, { type: 'putConnector', connector: connector('a') }]);
      expect((await store.listConnectors()).map((c) => c.id)).toEqual(['a', 'b']);
      await store.commit([{ type: 'deleteConnector', id: 'a' }]);
      expect(await store.listConnectors()).toEqual([connector('b')]);
    });

    it('reads an outbox in seq order, limited, after a seq, apart from other connectors, and knows its last seq', async () => {
      if (store.readOutbox === undefined || store.lastOutboxSeq === undefined) return;
      expect(await store.lastOutboxSeq('a')).toBe(-1);
      await store.commit([10, 9, 100, 2].map((seq) => ({ type: 'putOutbox' as const, entry: entry('a', seq) })));
      await store.commit([{ type: 'putOutbox', entry: entry('a-b', 1) }, { type: 'putOutbox', entry: entry('b', 0) }]);
      expect((await store.readOutbox('a', 10)).map((e) => e.seq)).toEqual([2, 9, 10, 100]);
      expect((await store.readOutbox('a', 2)).map((e) => e.seq)).toEqual([2, 9]);
      expect((await store.readOutbox('a', 10, 9)).map((e) => e.seq)).toEqual([10, 100]);
      expect((await store.readOutbox('a', 1, 3)).map((e) => e.seq)).toEqual([9]);
      expect((await store.readOutbox('a', 10, -1)).map((e) => e.seq)).toEqual([2, 9, 10, 100]);
      expect(await store.readOutbox('a', 10, 100)).toEqual([]);
      expect(await store.lastOutboxSeq('a')).toBe(100);
      await store.commit([{ type: 'deleteOutbox', connector: 'a', seq: 2 }]);
      expect((await store.readOutbox('a', 10))[0]).toEqual(entry('a', 9));
      expect((await store.readOutbox('b', 10)).map((e) => e.seq)).toEqual([0]);
    });

    it('refuses a connector id that would break the key layout, committing nothing', async () => {
      await expect(store.commit([{ type: 'putOutbox', entry: entry('a', 1) }, { type: 'putOutbox', entry: entry('x!y', 1) }])).rejects.toMatchObject({ code: 'internal' });
      if (store.readOutbox !== undefined) expect(await store.readOutbox('a', 10)).toEqual([]);
    });
  });
}
