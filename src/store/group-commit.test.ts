/**
 * The gathering pause of group commit (sync on): writers answered by one batch commit again at
 * once (a device sends its next report on its 2.04), and their commits join those already queued
 * instead of alternating batches with them. On a real LevelDB store with fsync.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLevelStore } from './level-store.ts';
import { sampleTwin } from './store-suite.ts';
import type { BatchStats, StoreOp, TwinStore } from './types.ts';

const put = (id: string): StoreOp[] => [{ type: 'putTwin', twin: sampleTwin(id) }];
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('group commit with sync: the gathering pause', () => {
  let dir: string;
  let store: TwinStore;
  let stats: BatchStats[];

  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'doppel-gather-')); });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  /** A store whose first `slow` batches take 20 ms, so commits queue behind them. */
  async function open(slow: number, sync = true): Promise<void> {
    let n = 0;
    store = createLevelStore({ path: join(dir, 'db'), sync, testHooks: { beforeBatch: () => (n++ < slow ? sleep(20) : undefined) } });
    stats = [];
    store.onBatch = (s) => { stats.push(s); };
    await store.open();
  }

  /** A closed-loop writer: commits, and on its answer commits again on the next turn, `times` times. */
  async function writer(id: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      await store.commit(put(`${id}-${i}`));
      await nextTurn();
    }
  }

  it('brings closed-loop writers that started apart into one batch', async () => {
    await open(1);
    const first = writer('w0', 6);
    await nextTurn(); // w0's first commit is in the (slow) first batch; the others queue behind it
    await Promise.all([first, writer('w1', 6), writer('w2', 6), writer('w3', 6)]);
    expect(stats.reduce((n, s) => n + s.commits, 0)).toBe(24);
    // Without the pause, w0 would keep alternating with w1–w3: batches of 1 and 3 to the end.
    expect(stats[0]!.commits).toBe(1);
    expect(stats[1]!.commits).toBe(4);
    expect(stats.length).toBeLessThanOrEqual(7);
  });

  it('does not hold a lone writer back: its next commit ends the pause', async () => {
    await open(0);
    await writer('solo', 20);
    expect(stats.map((s) => s.commits)).toEqual(Array.from({ length: 20 }, () => 1));
  });

  it('writes what is queued once the pause runs out, when the writers do not come back', async () => {
    await open(1);
    const lone = store.commit(put('a'));
    await nextTurn();
    const queued = [store.commit(put('b')), store.commit(put('c'))];
    await Promise.all([lone, ...queued]);
    expect(stats.map((s) => s.commits)).toEqual([1, 2]);
    expect((await store.getTwin('c'))?.id).toBe('c');
  });

  it('never pauses without sync', async () => {
    await open(1, false);
    const first = writer('w0', 4);
    await nextTurn();
    await Promise.all([first, writer('w1', 4), writer('w2', 4), writer('w3', 4)]);
    expect(stats[1]!.commits).toBe(3);
  });
});
