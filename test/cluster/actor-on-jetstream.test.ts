// The twin actor over the JetStream store, on a real nats-server: the op sets the actor really
// commits (create, patch, history trimming, device token, remove) each become one record on the
// twin's subject, and a second actor holding a stale copy is fenced.
import { planJob } from '../../src/job/types.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { EventBus } from '../../actors/event-bus.ts';
import { TwinActor } from '../../actors/twin-actor.ts';
import { createLevelStore, restoreStore } from '../../src/store/index.ts';
import { createJetStreamStore } from '../../src/store/jetstream/index.ts';
import type { JetStreamStore } from '../../src/store/jetstream/index.ts';
import { storeNames, twinSubject } from '../../src/store/jetstream/names.ts';
import type { StoredConnector, StoredCredential } from '../../src/store/types.ts';
import { ConnectorBucket } from '../../src/store/jetstream/connectors.ts';
import { DEFAULT_LIMITS } from '../../src/twin/types.ts';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';

let nats: NatsCluster;
const stores: JetStreamStore[] = [];
const RETENTION = 3;

beforeAll(async () => { nats = await startNats(1); }, 60_000);
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await nats?.stop();
});

async function actorOn(namespace: string, id: string): Promise<{ actor: TwinActor; store: JetStreamStore }> {
  const store = createJetStreamStore({ servers: nats.urls, namespace, historyRetention: RETENTION });
  stores.push(store);
  await store.open();
  const actor = new TwinActor(id, {
    store, feed: new EventBus(), limits: DEFAULT_LIMITS, historyRetention: RETENTION, livenessMs: 1000, maxPending: 100, now: () => new Date(),
  });
  return { actor, store };
}

/** How many records the twin's subject holds (each commit is one). */
async function recordsOf(namespace: string, id: string): Promise<number> {
  const nc = await connect({ servers: nats.urls });
  try {
    const subject = twinSubject(storeNames(namespace), id);
    const info = await (await jetstreamManager(nc)).streams.info(storeNames(namespace).stream, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  } finally {
    await nc.close();
  }
}

const token = (id: string): StoredCredential => ({ kind: 'device', id, twin: 'dev:1.a', hash: `hash-${id}`, createdAt: new Date().toISOString() });

describe('TwinActor on the JetStream store', () => {
  it('stores each change as one record with its event, trims history, and removes everything', async () => {
    const { actor, store } = await actorOn('actor', 'dev:1.a');
    await actor.create({ desired: { temp: 21 } }, { via: 'http' });
    expect(await recordsOf('actor', 'dev:1.a')).toBe(1);
    expect(await store.countPending()).toBe(1);
    await actor.patch({ reported: { temp: 21 } }, { via: 'coap', deviceContact: true });
    expect(await store.countPending()).toBe(0);
    for (let i = 0; i < 4; i++) await actor.patch({ desired: { step: i } }, { via: 'http' });
    expect(await recordsOf('actor', 'dev:1.a')).toBe(6);
    expect((await store.readHistory('dev:1.a', { after: 0, limit: 100 })).map((e) => e.version)).toEqual([4, 5, 6]);
    expect((await store.getTwin('dev:1.a'))?.version).toBe(6);
    expect((await store.oldestPending())?.twin).toBe('dev:1.a');

    expect(await actor.setDeviceCredential(token('tok-1'))).toBeNull();
    expect(await actor.setDeviceCredential(token('tok-2'))).toBe('tok-1');
    expect((await store.listCredentials('device')).map((c) => c.id)).toEqual(['tok-2']);

    expect(await actor.remove()).toBe('tok-2');
    expect(await store.getTwin('dev:1.a')).toBeUndefined();
    expect(await store.readHistory('dev:1.a', { after: 0, limit: 100 })).toEqual([]);
    expect(await store.listCredentials('device')).toEqual([]);
    expect(await store.countPending()).toBe(0);
    expect(await recordsOf('actor', 'dev:1.a')).toBe(1); // the tombstone
    // The id is free again, with a fresh history.
    await actor.create({}, { via: 'http' });
    expect((await store.readHistory('dev:1.a', { after: 0, limit: 100 })).map((e) => e.version)).toEqual([1]);
  });

  it('fences an actor whose copy went stale: its patch fails and leaves it as it was', async () => {
    const first = await actorOn('actor2', 'pump');
    const second = await actorOn('actor2', 'pump');
    await first.actor.create({ desired: { rpm: 1 } }, { via: 'http' });
    await first.actor.get();
    await second.actor.patch({ desired: { rpm: 2 } }, { via: 'http' });
    await expect(first.actor.patch({ desired: { rpm: 3 } }, { via: 'http' })).rejects.toMatchObject({ code: 'unavailable', details: { reason: 'fenced' } });
    expect((await first.actor.get()).desired).toEqual({ rpm: 1 }); // its copy, unchanged by the failure
    expect((await second.store.getTwin('pump'))?.desired).toEqual({ rpm: 2 });
    expect((await second.store.readHistory('pump', { after: 0, limit: 10 })).map((e) => e.version)).toEqual([1, 2]);
  });

  it('exports records() in the LevelDB layout: a cluster backup restores into a single node', async () => {
    const { actor, store } = await actorOn('backup', 'site:a.1');
    await actor.create({ desired: { temp: 21 } }, { via: 'http' });
    await actor.patch({ reported: { temp: 20 } }, { via: 'coap' });
    await actor.setDeviceCredential(token('tok-b'));
    const job = planJob('j-00000000-0000-4000-8000-00000000000b', { filter: 'exists(id)', prefix: 'site:', desired: { temp: 22 } }, new Date());
    await store.commit([{ type: 'putJob', job }]);
    await actor.patch({ desired: { temp: 22 } }, { via: 'system', alsoCommit: [{ type: 'putJobMark', job: job.id, twin: 'site:a.1' }] });
    const hook = { id: 'hook', kind: 'webhook', prefix: 'site:', filter: null, events: ['change'], maxAgeSeconds: 60, url: 'http://127.0.0.1:9/h', secret: 'sixteen-characters', createdAt: new Date().toISOString() } satisfies StoredConnector;
    await (await ConnectorBucket.open(store.connected, 'backup', 1)).create(hook);
    const dir = await mkdtemp(join(tmpdir(), 'doppel-restore-'));
    const level = createLevelStore({ path: join(dir, 'db') });
    try {
      await restoreStore(join(dir, 'db'), store.records());
      await level.open();
      expect(await level.getTwin('site:a.1')).toEqual(await store.getTwin('site:a.1'));
      expect(await level.readHistory('site:a.1', { after: 0, limit: 10 })).toEqual(await store.readHistory('site:a.1', { after: 0, limit: 10 }));
      expect(await level.getCredential('device', 'tok-b')).toEqual(await store.getCredential('device', 'tok-b'));
      expect(await level.oldestPending()).toEqual(await store.oldestPending());
      expect(await level.getJob!(job.id)).toEqual(job);
      expect(await level.jobMarks!(job.id)).toEqual(['site:a.1']);
      expect(await level.listConnectors!()).toEqual([hook]); // the definition, not the cluster's start position
    } finally {
      await level.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
