/**
 * The delivery worker against the memory store and a recording target: a backlog read from disk
 * reaches twins behind a blocked twin's long backlog, memory stays bounded (events past the limit
 * wait on disk and are read back in order), a blocked twin is forgotten once its events are
 * dropped, and the counts survive a stop and a new worker. A property: whatever the bursts of
 * concurrent commits and the flaky failures, with tiny memory bounds, every event is delivered
 * exactly once and each twin's in seq order.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import type { OutboxEntry, StoredConnector, TwinStore } from '../store/types.ts';
import { eventually } from '../../test/support/eventually.ts';
import { DeliveryError } from './targets/target.ts';
import type { Target } from './targets/target.ts';
import { ConnectorWorker } from './worker.ts';
import type { WorkerDeps } from './worker.ts';

const DEF: StoredConnector = {
  id: 'w', kind: 'webhook', prefix: null, filter: null, events: ['change'], maxAgeSeconds: 3600, url: 'http://127.0.0.1:9/', secret: 's'.repeat(16), createdAt: '2026-01-01T00:00:00.000Z',
};

/** Records what it delivered, in order; fails every event of a twin in `failing`. */
class RecordingTarget implements Target {
  readonly delivered: { twin: string; seq: number }[] = [];
  readonly failing = new Set<string>();
  attempts = 0;
  async send(entry: OutboxEntry): Promise<void> {
    this.attempts++;
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failing.has(entry.twin)) throw new DeliveryError(`${entry.twin} refused`);
    this.delivered.push({ twin: entry.twin, seq: entry.seq });
  }
  seqsOf(twin: string): number[] { return this.delivered.filter((d) => d.twin === twin).map((d) => d.seq); }
  close(): Promise<void> { return Promise.resolve(); }
}

describe('connector worker', () => {
  let store: TwinStore;
  const workers: ConnectorWorker[] = [];
  let seq = 0;
  afterEach(async () => { await Promise.all(workers.splice(0).map((w) => w.stop())); await store.close(); });

  async function open(): Promise<TwinStore> {
    store = createMemoryStore();
    await store.open();
    await store.commit([{ type: 'putConnector', connector: DEF }]);
    seq = 0;
    return store;
  }

  const entry = (twin: string, at = new Date().toISOString()): OutboxEntry => ({ connector: 'w', seq: seq++, twin, type: 'change', eventId: `${twin}:${seq}`, at, event: { twin, version: seq } });

  /** Commits entries as a twin actor does, and hands them over when `worker` is given. */
  async function committed(entries: OutboxEntry[], worker?: ConnectorWorker): Promise<void> {
    await store.commit(entries.map((e) => ({ type: 'putOutbox' as const, entry: e })));
    if (worker !== undefined) for (const e of entries) worker.accept(e);
  }

  function worker(target: Target, deps: Partial<WorkerDeps> = {}, def: StoredConnector = DEF): ConnectorWorker {
    const w = new ConnectorWorker(def, { store, target, logger: silentLogger, backoff: { baseMs: 20, capMs: 200 }, ...deps });
    workers.push(w);
    w.start();
    return w;
  }

  it('delivers twin B from a backlog on disk while twin A, ahead of it with 700 events, keeps failing', async () => {
    await open();
    await committed(Array.from({ length: 700 }, () => entry('a')));
    await committed([entry('b'), entry('b')]);
    const target = new RecordingTarget();
    target.failing.add('a');
    const w = worker(target, { held: { maxEntries: 256, maxPerTwin: 16 } });
    await eventually(async () => (target.seqsOf('b').length === 2 ? true : undefined), 'twin B delivered');
    expect(target.seqsOf('b')).toEqual([700, 701]);
    expect(target.seqsOf('a')).toEqual([]);
    // Twin A's backlog stays on disk beyond its lane's bound (a quarter of the room at most).
    expect(w.held.events).toBeLessThanOrEqual(256 / 4);
    target.failing.delete('a');
    await eventually(async () => (target.seqsOf('a').length === 700 ? true : undefined), 'twin A delivered once healthy', 30_000);
    expect(target.seqsOf('a')).toEqual(Array.from({ length: 700 }, (_, i) => i));
    await eventually(async () => ((await store.readOutbox!('w', 10)).length === 0 ? true : undefined), 'the outbox emptied');
  }, 60_000);

  it('holds at most its bound in memory, leaves the rest on disk and delivers all of it in order per twin', async () => {
    await open();
    const target = new RecordingTarget();
    const w = worker(target, { held: { maxEntries: 8, maxPerTwin: 4 } });
    // Live: written in bursts, faster than delivered; memory overflows and the worker reads the rest back.
    let maxHeld = 0;
    for (let burst = 0; burst < 20; burst++) {
      await committed(['t1', 't2', 't3', 't4', 't5'].map((twin) => entry(twin)), w);
      maxHeld = Math.max(maxHeld, w.held.events);
    }
    await eventually(async () => (target.delivered.length >= 100 ? true : undefined), 'all 100 events', 30_000);
    expect(maxHeld).toBeLessThanOrEqual(8);
    for (const twin of ['t1', 't2', 't3', 't4', 't5']) {
      const seqs = target.seqsOf(twin);
      expect(seqs, twin).toEqual(Array.from({ length: 20 }, (_, i) => seqs[0]! + i * 5));
    }
    expect(target.delivered.length).toBe(100);
    await eventually(async () => ((await store.readOutbox!('w', 10)).length === 0 && w.held.twins === 0 ? true : undefined), 'outbox and memory empty');
  }, 60_000);

  it('forgets a failing twin, backoff included, once maxAgeSeconds dropped its events', async () => {
    await open();
    let clock = Date.parse('2026-06-01T00:00:00.000Z');
    const target = new RecordingTarget();
    target.failing.add('a');
    const w = worker(target, { now: () => clock }, { ...DEF, maxAgeSeconds: 60 });
    await eventually(async () => (w.held.twins === 0 ? true : undefined), 'live');
    await committed([entry('a', new Date(clock).toISOString())], w);
    await eventually(async () => (w.stats.failed >= 1 ? true : undefined), 'a failed attempt');
    expect(w.held).toEqual({ events: 1, twins: 1 });
    clock += 3_600_000;
    w.wake();
    await eventually(async () => (w.stats.dropped === 1 ? true : undefined), 'dropped');
    expect(w.held).toEqual({ events: 0, twins: 0 });
    await eventually(async () => ((await store.readOutbox!('w', 10)).length === 0 ? true : undefined), 'removed from the outbox');
    // A new event of the same twin starts afresh: no retry wait left over.
    target.failing.delete('a');
    await committed([entry('a', new Date(clock).toISOString())], w);
    await eventually(async () => (target.delivered.length === 1 ? true : undefined), 'delivered at once');
  }, 30_000);

  it('keeps its counts in the connector record across a stop', async () => {
    await open();
    const target = new RecordingTarget();
    target.failing.add('x');
    const w = worker(target);
    await committed([entry('a'), entry('a'), entry('b'), entry('x')], w);
    await eventually(async () => (w.stats.delivered === 3 && w.stats.failed >= 1 ? true : undefined), 'three delivered, one failing');
    await w.stop();
    const failed = w.stats.failed;
    const [saved] = await store.listConnectors!();
    expect(saved!.counts).toEqual({ delivered: 3, failed, dropped: 0 });
    const again = worker(new RecordingTarget(), {}, saved);
    expect(again.stats).toMatchObject({ delivered: 3, failed, dropped: 0 });
    await eventually(async () => (again.stats.delivered === 4 ? true : undefined), 'the failed event delivered by the next worker');
  }, 30_000);

  it('delivers every event once, in order per twin, whatever the bursts and failures (property)', async () => {
    const burst = fc.array(fc.record({ twin: fc.integer({ min: 0, max: 4 }), count: fc.integer({ min: 1, max: 6 }) }), { minLength: 1, maxLength: 6 });
    await fc.assert(fc.asyncProperty(fc.array(burst, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 4 }), async (bursts, failEvery) => {
      await open();
      const target = new RecordingTarget();
      // Flaky: every failEvery-th attempt fails (never when failEvery is 1).
      const send = target.send.bind(target);
      target.send = async (e) => {
        if (failEvery > 1 && (target.attempts + 1) % failEvery === 0) { target.attempts++; throw new DeliveryError('flaky'); }
        return send(e);
      };
      const w = new ConnectorWorker(DEF, { store, target, logger: silentLogger, backoff: { baseMs: 1, capMs: 4 }, held: { maxEntries: 6, maxPerTwin: 2 } });
      w.start();
      const written = new Map<string, number[]>();
      try {
        for (const b of bursts) {
          // One commit per event, all in flight at once, each handed over when it lands (as the twin actors do).
          await Promise.all(b.flatMap(({ twin, count }) => Array.from({ length: count }, () => {
            const e = entry(`t${twin}`);
            written.set(e.twin, [...(written.get(e.twin) ?? []), e.seq]);
            return store.commit([{ type: 'putOutbox', entry: e }]).then(() => w.accept(e));
          })));
        }
        const total = [...written.values()].reduce((n, seqs) => n + seqs.length, 0);
        await eventually(async () => (target.delivered.length >= total ? true : undefined), `${total} events`, 20_000);
        for (const [twin, seqs] of written) expect(target.seqsOf(twin), twin).toEqual(seqs);
        expect(target.delivered.length).toBe(total);
        await eventually(async () => ((await store.readOutbox!('w', 1)).length === 0 ? true : undefined), 'the outbox emptied');
      } finally {
        await w.stop();
        await store.close();
      }
    }), { numRuns: 25 });
    // afterEach closes the last store again: harmless, and a fresh one keeps it simple.
    await open();
  }, 120_000);
});
