// The JetStream store on a real 3-server NATS cluster with R3: what an acknowledged write survives,
// how the fence stops a stale writer, and that losing quorum fails commits instead of hanging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamStore } from '../../src/store/jetstream/index.ts';
import type { JetStreamStore } from '../../src/store/jetstream/index.ts';
import { storeNames } from '../../src/store/jetstream/names.ts';
import { sampleEvent, sampleTwin } from '../../src/store/store-suite.ts';
import type { StoreOp } from '../../src/store/types.ts';
import type { TwinState } from '../../src/twin/types.ts';
import { eventually } from '../support/eventually.ts';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';

let nats: NatsCluster;
const open: JetStreamStore[] = [];

beforeAll(async () => { nats = await startNats(3); }, 60_000);
afterAll(async () => {
  await Promise.all(open.map((s) => s.close().catch(() => undefined)));
  await nats?.stop();
});

async function openStore(namespace: string, servers = nats.urls, timeoutMs = 2_000): Promise<JetStreamStore> {
  const store = createJetStreamStore({ servers, namespace, replicas: 3, timeoutMs });
  open.push(store);
  await eventually(() => store.open().then(() => true, () => undefined), `store ${namespace} to open`, 30_000);
  return store;
}

/** The ops the twin actor commits for one accepted change. */
const change = (twin: TwinState): StoreOp[] => [
  { type: 'putTwin', twin }, { type: 'putEvent', event: sampleEvent(twin.id, twin.version, { patch: { desired: { by: twin.desired['by'] ?? null } } }) },
];

/** Retries `read` through a failover (the stream elects a new leader meanwhile). */
const settle = <T>(read: () => Promise<T>, what: string) => eventually(() => read().catch((err: unknown) => { last = err; return undefined; }), what, 30_000)
  .catch((err: unknown) => { throw new Error(`${(err as Error).message}; last error: ${String(last)}`); });
let last: unknown;

/** What `promise` settled with (its error when it rejected), or a marker when it hung for 20 s. */
const within20s = (promise: Promise<unknown>) => Promise.race([
  promise.then((v) => v ?? 'resolved', (err: unknown) => err),
  new Promise((r) => setTimeout(() => r('still pending after 20 s'), 20_000)),
]);

/**
 * Writes `twin` unless the stored twin already has its version. Reads first, as an actor loads
 * before it writes: a timed-out attempt may still have landed, and the read moves the fence on.
 */
async function writeOnce(store: JetStreamStore, twin: TwinState): Promise<true> {
  const stored = await store.getTwin(twin.id);
  if ((stored?.version ?? 0) < twin.version) await store.commit(change(twin));
  return true;
}

describe('JetStream store on a 3-server cluster, R3', () => {
  it('keeps an acknowledged write when its stream leader is killed with -9, readable from another server', async () => {
    const writer = await openStore('kill9');
    await writer.commit(change(sampleTwin('thermo-1', { desired: { by: 'writer' } })));
    await writer.commit(change(sampleTwin('thermo-1', { version: 2, desired: { by: 'writer-2' } })));
    const leader = await nats.leaderOf(storeNames('kill9').stream);
    await leader.kill9();
    try {
      const reader = await openStore('kill9', nats.nodes.filter((n) => n !== leader).map((n) => n.url));
      const twin = await settle(() => reader.getTwin('thermo-1'), 'the twin from a surviving server');
      expect(twin).toEqual(sampleTwin('thermo-1', { version: 2, desired: { by: 'writer-2' } }));
      expect((await settle(() => reader.readHistory('thermo-1', { after: 0, limit: 10 }), 'history')).map((e) => e.version)).toEqual([1, 2]);
      // The survivors still have a quorum: writing goes on under the new leader.
      await settle(() => writeOnce(reader, sampleTwin('thermo-1', { version: 3, desired: { by: 'reader' } })), 'a write after failover');
      expect((await reader.getTwin('thermo-1'))?.version).toBe(3);
    } finally {
      await leader.restart();
      await nats.ready();
    }
  }, 90_000);

  it('lists on one node every write acknowledged on another before the listing began', async () => {
    const writer = await openStore('barrier', [nats.urls[0]!]);
    const reader = await openStore('barrier', [nats.urls[2]!]);
    for (let round = 0; round < 3; round++) {
      const ids = Array.from({ length: 20 }, (_, i) => `r${round}-${String(i).padStart(2, '0')}`);
      await Promise.all(ids.map((id) => writer.commit([...change(sampleTwin(id)), { type: 'putPending', twin: id, since: '2026-01-01T00:00:00.000Z' }])));
      // No waiting: the read barrier alone makes the other node's index catch up.
      const listed: string[] = [];
      for await (const twin of reader.listTwins({ prefix: `r${round}-` })) listed.push(twin.id);
      expect(listed).toEqual(ids);
      expect(await reader.countPending()).toBe(20 * (round + 1));
    }
  }, 60_000);

  it('fences a writer whose read is stale: its commit fails and the versions do not fork', async () => {
    const zombie = await openStore('fence');
    const owner = await openStore('fence');
    await zombie.commit(change(sampleTwin('valve-7', { desired: { by: 'zombie' } })));
    // The new owner loads the twin and commits version 2.
    const loaded = await owner.getTwin('valve-7');
    await owner.commit(change({ ...loaded!, version: 2, desired: { by: 'owner' } }));
    // The old owner still holds version 1 and commits its own version 2.
    const stale = zombie.commit(change(sampleTwin('valve-7', { version: 2, desired: { by: 'zombie' } })));
    await expect(stale).rejects.toMatchObject({ code: 'unavailable', details: { reason: 'fenced', twin: 'valve-7' } });
    // …and keeps failing until it reads the twin again.
    await expect(zombie.commit([{ type: 'putTwin', twin: sampleTwin('valve-7', { version: 3 }) }])).rejects.toMatchObject({ details: { reason: 'fenced' } });
    for (const store of [owner, zombie]) {
      expect((await store.getTwin('valve-7'))?.desired).toEqual({ by: 'owner' });
      const history = await store.readHistory('valve-7', { after: 0, limit: 10 });
      expect(history.map((e) => [e.version, e.patch])).toEqual([[1, { desired: { by: 'zombie' } }], [2, { desired: { by: 'owner' } }]]);
    }
    // Having re-read (getTwin above), the old owner may write again, on top of version 2.
    await zombie.commit(change(sampleTwin('valve-7', { version: 3, desired: { by: 'zombie-again' } })));
    expect((await owner.readHistory('valve-7', { after: 0, limit: 10 })).map((e) => e.version)).toEqual([1, 2, 3]);
  }, 60_000);

  it('rejects commits with unavailable within seconds when quorum is lost, and recovers when it returns', async () => {
    const store = await openStore('quorum');
    await store.commit(change(sampleTwin('pump-3')));
    const [a, b] = nats.nodes.slice(1);
    await Promise.all([a!.kill9(), b!.kill9()]);
    try {
      const started = Date.now();
      const outcome = await within20s(store.commit(change(sampleTwin('pump-3', { version: 2 }))));
      expect(outcome).toMatchObject({ code: 'unavailable' });
      console.info(`commit without quorum rejected after ${Date.now() - started} ms`);
      // Reads do not hang either. A leader that has not yet noticed the lost quorum may still
      // answer them (no other leader can have acknowledged anything meanwhile), or they fail.
      for (const read of [store.countPending(), store.getTwin('pump-3'), store.readHistory('pump-3', { after: 0, limit: 5 })]) {
        const answer = await within20s(read);
        if (answer instanceof Error) expect(answer).toMatchObject({ code: 'unavailable' });
        else expect(answer).not.toBe('still pending after 20 s');
      }
    } finally {
      await Promise.all([a!.restart(), b!.restart()]);
      await nats.ready();
    }
    // The rejected commit's outcome is unknown (it may have reached the old leader's log); a fresh
    // read gives the sequence to write on, and the fence keeps the retry from forking.
    const current = await settle(() => store.getTwin('pump-3'), 'the twin once quorum is back');
    await settle(() => writeOnce(store, { ...current!, version: current!.version + 1 }), 'a write once quorum is back');
    const versions = (await store.readHistory('pump-3', { after: 0, limit: 10 })).map((e) => e.version);
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
  }, 120_000);
});
