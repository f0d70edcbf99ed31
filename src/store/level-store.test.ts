import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeValue } from './codec.ts';
import { FORMAT_KEY, FORMAT_VERSION } from './keys.ts';
import { createLevelStore } from './level-store.ts';
import type { LevelStoreOptions } from './level-store.ts';
import { describeStoreContract, sampleEvent, sampleTwin } from './store-suite.ts';
import type { BatchStats, StoreOp, StoredCredential, TwinStore } from './types.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'doppel-store-'));
}

describeStoreContract('LevelDB store', async () => {
  const dir = await tempDir();
  return { store: createLevelStore({ path: join(dir, 'db') }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

/** A promise and its resolver, to hold a batch in flight while commits queue behind it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => { open = resolve; });
  return { wait, open };
}

/** Lets the writer start: it takes up what was committed on the previous turn of the event loop. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const twinOps = (id: string): StoreOp[] => [
  { type: 'putTwin', twin: sampleTwin(id) },
  { type: 'putEvent', event: sampleEvent(id, 1) },
];

describe('LevelDB store', () => {
  let dir: string;
  const opened: TwinStore[] = [];

  beforeEach(async () => { dir = await tempDir(); });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function open(opts: Partial<LevelStoreOptions> = {}): Promise<TwinStore & { stats: BatchStats[] }> {
    const store = createLevelStore({ path: join(dir, 'db'), ...opts });
    const stats: BatchStats[] = [];
    store.onBatch = (s) => { stats.push(s); };
    await store.open();
    opened.push(store);
    return Object.assign(store, { stats });
  }

  describe('group commit', () => {
    it('writes the commits of one event-loop turn as one batch on the next turn, without a timer', async () => {
      let batches = 0;
      const store = await open({ testHooks: { beforeBatch: () => { batches += 1; } } });
      const done = [store.commit(twinOps('a')), store.commit(twinOps('b')), store.commit(twinOps('c'))];
      expect(batches).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(batches).toBe(1);
      await Promise.all(done);
      expect(store.stats.map((s) => s.commits)).toEqual([3]);
    });

    it('groups 500 concurrent commits into far fewer batches, and all resolve', async () => {
      const store = await open();
      await Promise.all(Array.from({ length: 500 }, (_, i) => store.commit(twinOps(`t${i}`))));
      expect(store.stats.reduce((n, s) => n + s.commits, 0)).toBe(500);
      expect(store.stats.reduce((n, s) => n + s.ops, 0)).toBe(1000);
      expect(store.stats.length).toBe(1);
      expect((await store.getTwin('t499'))?.id).toBe('t499');
      expect(await store.readHistory('t0', { after: 0, limit: 10 })).toHaveLength(1);
    });

    it('sends everything queued behind a batch as the next single batch', async () => {
      const hold = gate();
      let first = true;
      const store = await open({ testHooks: { beforeBatch: () => (first ? ((first = false), hold.wait) : undefined) } });
      const commits = [store.commit(twinOps('a'))];
      await nextTurn();
      for (let i = 0; i < 10; i++) commits.push(store.commit(twinOps(`b${i}`)));
      hold.open();
      await Promise.all(commits);
      expect(store.stats.map((s) => s.commits)).toEqual([1, 10]);
      expect(store.stats.map((s) => s.ops)).toEqual([2, 20]);
      expect(store.stats.every((s) => s.bytes > 0)).toBe(true);
    });

    it('caps a batch at maxBatchOps without ever splitting a commit', async () => {
      const hold = gate();
      let first = true;
      const store = await open({ maxBatchOps: 10, testHooks: { beforeBatch: () => (first ? ((first = false), hold.wait) : undefined) } });
      const three = (i: number): StoreOp[] => [...twinOps(`c${i}`), { type: 'putEvent', event: sampleEvent(`c${i}`, 2) }];
      const big: StoreOp[] = Array.from({ length: 25 }, (_, v) => ({ type: 'putEvent', event: sampleEvent('big', v + 1) }));
      const commits = [store.commit(twinOps('a'))];
      await nextTurn();
      for (let i = 0; i < 7; i++) commits.push(store.commit(three(i)));
      commits.push(store.commit(big), store.commit(three(7)));
      hold.open();
      await Promise.all(commits);
      expect(store.stats.map((s) => s.ops)).toEqual([2, 9, 9, 3, 25, 3]);
      expect(await store.readHistory('big', { after: 0, limit: 100 })).toHaveLength(25);
    });

    it('rejects every commit of a failed batch with unavailable and writes none of them', async () => {
      const hold = gate();
      let n = 0;
      const store = await open({
        testHooks: {
          beforeBatch: () => {
            n += 1;
            if (n === 1) return hold.wait;
            if (n === 2) throw new Error('disk on fire');
            return undefined;
          },
        },
      });
      const ok = store.commit(twinOps('ok'));
      await nextTurn();
      const doomed = Array.from({ length: 5 }, (_, i) => store.commit(twinOps(`doomed${i}`)));
      hold.open();
      await ok;
      for (const p of doomed) {
        await expect(p).rejects.toMatchObject({ code: 'unavailable', message: 'Storage write failed: disk on fire' });
      }
      expect(store.stats.map((s) => s.commits)).toEqual([1, 5]);
      expect(await store.getTwin('doomed0')).toBeUndefined();
      await store.commit(twinOps('later'));
      expect(await store.getTwin('later')).toBeDefined();
    });

    it('keeps writing after a batch of an idle store fails at once (the writer restarts)', async () => {
      let failing = true;
      const store = await open({ testHooks: { beforeBatch: () => { if (failing) throw new Error('disk full'); } } });
      await expect(store.commit(twinOps('first'))).rejects.toMatchObject({ code: 'unavailable' });
      await expect(store.commit(twinOps('second'))).rejects.toMatchObject({ code: 'unavailable' });
      failing = false;
      await store.commit(twinOps('third'));
      expect(await store.getTwin('third')).toBeDefined();
      expect(await store.getTwin('second')).toBeUndefined();
    });

    it('turns a rejected db.batch() into unavailable for each commit in the batch', async () => {
      const store = await open();
      // The writer calls classic-level's `_batch` (see writeBatchOf), so that is where the disk fails.
      const spy = vi.spyOn(Level.prototype as unknown as { _batch: () => Promise<void> }, '_batch').mockRejectedValueOnce(
        Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' }),
      );
      try {
        // The first commit goes out alone and meets the failure; the second, made on a later turn,
        // queues behind it and goes out in the next batch, which succeeds.
        const first = Promise.allSettled([store.commit(twinOps('a'))]);
        await nextTurn();
        const second = Promise.allSettled([store.commit(twinOps('b'))]);
        const results = [...(await first), ...(await second)];
        expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
        expect((results[0] as PromiseRejectedResult).reason).toMatchObject({
          code: 'unavailable', message: 'Storage write failed: IO error: No space left on device',
        });
        expect(await store.getTwin('a')).toBeUndefined();
        expect(await store.getTwin('b')).toBeDefined();
      } finally {
        spy.mockRestore();
      }
    });

    it('close() waits for a batch still in flight', async () => {
      const hold = gate();
      const store = await open({ testHooks: { beforeBatch: () => hold.wait } });
      const commit = store.commit(twinOps('a'));
      const closing = store.close();
      let closed = false;
      void closing.then(() => { closed = true; });
      await new Promise((r) => setTimeout(r, 20));
      expect(closed).toBe(false);
      hold.open();
      await commit;
      await closing;
      const reopened = await open();
      expect(await reopened.getTwin('a')).toBeDefined();
    });

    it('works with sync: true', async () => {
      const store = await open({ sync: true });
      await Promise.all([store.commit(twinOps('a')), store.commit(twinOps('b'))]);
      expect((await store.getTwin('b'))?.id).toBe('b');
    });
  });

  describe('on disk', () => {
    it('keeps data across close and reopen', async () => {
      const first = await open();
      await first.commit([...twinOps('a'), { type: 'putCredential', credential: { kind: 'device', id: 'd1', twin: 'a', hash: 'h', createdAt: 'now' } }]);
      await first.close();
      const second = await open();
      expect(await second.getTwin('a')).toEqual(sampleTwin('a'));
      expect(await second.readHistory('a', { after: 0, limit: 10 })).toEqual([sampleEvent('a', 1)]);
      expect(await second.listCredentials('device')).toHaveLength(1);
    });

    it('lays keys and device credentials out in disjoint ranges, and listing keys never reads a device record', async () => {
      const store = await open();
      const key: StoredCredential = { kind: 'key', id: 'k1', name: null, scopes: ['twins:read'], prefix: null, hash: 'h', createdAt: 'now' };
      await store.commit([{ type: 'putCredential', credential: key }, { type: 'putCredential', credential: { kind: 'device', id: 'd1', twin: 'a', hash: 'h', createdAt: 'now' } }]);
      await store.close();
      const raw = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      expect(await raw.keys({ gte: 'c', lt: 'd' }).all()).toEqual(['c!d!d1', 'c!k!k1']);
      // A device record no decoder can read: listing the keys must not even look at it.
      await raw.put('c!d!d2', new Uint8Array([0xff, 0xff]));
      await raw.close();
      const again = await open();
      expect(await again.listCredentials('key')).toEqual([key]);
      expect(await again.getCredential('key', 'k1')).toEqual(key);
    });

    it('creates missing parent directories', async () => {
      const store = createLevelStore({ path: join(dir, 'x', 'y', 'db') });
      opened.push(store);
      await store.open();
      await store.commit(twinOps('a'));
      expect(await store.getTwin('a')).toBeDefined();
    });

    it('refuses a second store on a directory that is in use', async () => {
      await open();
      const second = createLevelStore({ path: join(dir, 'db') });
      await expect(second.open()).rejects.toMatchObject({
        code: 'unavailable', message: expect.stringMatching(/^Cannot open store at ".*": Database failed to open: .*lock/),
      });
    });

    it('refuses to open a store written in a newer format', async () => {
      const store = await open();
      await store.close();
      const raw = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await raw.put(FORMAT_KEY, encodeValue(FORMAT_VERSION + 1));
      await raw.close();
      const again = createLevelStore({ path: join(dir, 'db') });
      await expect(again.open()).rejects.toMatchObject({
        code: 'unavailable', message: expect.stringMatching(/format 3 is newer than this Doppel supports \(2\)/), details: { format: 3, supported: 2 },
      });
      // The refused store let go of the directory's lock.
      const raw2 = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await raw2.open();
      await raw2.close();
    });

    it('migrates a format-1 store by building the pending index from its twins', async () => {
      const raw = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await raw.put(FORMAT_KEY, encodeValue(1));
      await raw.put('t!calm', encodeValue(sampleTwin('calm')));
      await raw.put('t!late', encodeValue(sampleTwin('late', { pendingSince: '2026-01-02T00:00:00.000Z' })));
      await raw.put('t!early', encodeValue(sampleTwin('early', { pendingSince: '2026-01-01T00:00:00.000Z' })));
      await raw.close();
      const store = await open();
      expect(await store.countPending()).toBe(2);
      expect(await store.oldestPending()).toEqual({ twin: 'early', since: '2026-01-01T00:00:00.000Z' });
      await store.close();
      const check = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      expect(await check.get(FORMAT_KEY)).toEqual(encodeValue(FORMAT_VERSION));
      await check.close();
    });

    it('refuses a LevelDB directory that holds data but no format marker', async () => {
      const raw = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await raw.put('something', new Uint8Array([1]));
      await raw.close();
      await expect(createLevelStore({ path: join(dir, 'db') }).open()).rejects.toMatchObject({
        code: 'unavailable', message: expect.stringMatching(/not a Doppel store/),
      });
    });

    it('rejects a maxBatchOps that is not a positive integer', () => {
      expect(() => createLevelStore({ path: join(dir, 'db'), maxBatchOps: 0 })).toThrow(/maxBatchOps/);
    });
  });
});
