// The JetStream store passes the same contract as the LevelDB and memory stores, against a real
// nats-server (one per file; each store gets its own namespace, so tests never see each other).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats } from '../../../bench/nats-servers.ts';
import type { NatsCluster } from '../../../bench/nats-servers.ts';
import { describeStoreContract } from '../store-suite.ts';
import { createJetStreamStore } from './index.ts';
import { RECORD_SLACK } from './connection.ts';
import { storeNames } from './names.ts';
import { endJob, planJob } from '../../job/types.ts';

let nats: NatsCluster;
let made = 0;

beforeAll(async () => { nats = await startNats(1); }, 60_000);
afterAll(async () => { await nats?.stop(); });

/** Deletes a namespace's stream and bucket (the bucket's stream is `KV_<bucket>`). */
async function dropNamespace(namespace: string): Promise<void> {
  const nc = await connect({ servers: nats.urls });
  try {
    const jsm = await jetstreamManager(nc);
    const names = storeNames(namespace);
    await jsm.streams.delete(names.stream).catch(() => undefined);
    await jsm.streams.delete(`KV_${names.credentials}`).catch(() => undefined);
    await jsm.streams.delete(`KV_${names.jobs}`).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

describeStoreContract('JetStream store', async () => {
  const namespace = `suite${process.pid}_${made++}`;
  const store = createJetStreamStore({ servers: nats.urls, namespace, timeoutMs: 5_000 });
  return { store, cleanup: () => dropNamespace(namespace) };
});

describe('JetStream store setup', () => {
  it('creates its stream on first open and applies a changed history retention on the next', async () => {
    const maxPerSubject = async () => {
      const nc = await connect({ servers: nats.urls });
      try {
        return (await (await jetstreamManager(nc)).streams.info(storeNames('setup').stream)).config.max_msgs_per_subject;
      } finally {
        await nc.close();
      }
    };
    for (const historyRetention of [3, 5]) {
      const store = createJetStreamStore({ servers: nats.urls, namespace: 'setup', historyRetention });
      await store.open();
      await store.close();
      expect(await maxPerSubject()).toBe(historyRetention + RECORD_SLACK);
    }
    await dropNamespace('setup');
  });

  it('refuses a commit whose twin record would exceed the server\'s max_payload as too_large, writing nothing', async () => {
    const store = createJetStreamStore({ servers: nats.urls, namespace: 'payload', timeoutMs: 5_000 });
    await store.open();
    try {
      const big = 'x'.repeat(store.connected.nc.info!.max_payload);
      const command = { id: '1', twin: 'a', name: 'big', payload: big, status: 'queued' as const, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
      await expect(store.commit([{ type: 'putCommand', command }])).rejects.toMatchObject({ code: 'too_large' });
      expect(await store.readCommands('a')).toEqual([]);
    } finally {
      await store.close();
      await dropNamespace('payload');
    }
  });

  it('keeps an ended job ended: a later running record from another store is refused as job_ended', async () => {
    const options = { servers: nats.urls, namespace: 'jobs', timeoutMs: 5_000 };
    const [runner, canceller] = [createJetStreamStore(options), createJetStreamStore(options)];
    await runner.open();
    await canceller.open();
    try {
      const job = planJob('j-00000000-0000-4000-8000-000000000001', { filter: 'exists(id)', prefix: '', desired: { a: 1 } }, new Date());
      await runner.commit([{ type: 'putJob', job }]);
      await canceller.commit([{ type: 'putJob', job: endJob((await canceller.getJob(job.id))!, 'cancelled', new Date()) }]);
      await expect(runner.commit([{ type: 'putJob', job: { ...job, done: 5 } }])).rejects.toMatchObject({ code: 'job_ended' });
      expect(await runner.getJob(job.id)).toMatchObject({ status: 'cancelled', done: 0 });
    } finally {
      await runner.close();
      await canceller.close();
      await dropNamespace('jobs');
    }
  });

  it('refuses options that make no sense as invalid_request', () => {
    expect(() => createJetStreamStore({ servers: [], namespace: 'x' })).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => createJetStreamStore({ servers: 'nats://h:4222', replicas: 0 })).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => createJetStreamStore({ servers: 'nats://h:4222', namespace: 'a.b' })).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});

