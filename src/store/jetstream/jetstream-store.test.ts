// The JetStream store passes the same contract as the LevelDB and memory stores, against a real
// nats-server (one per file; each store gets its own namespace, so tests never see each other).
import { afterAll, beforeAll } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats } from '../../../test/support/nats.ts';
import type { NatsCluster } from '../../../test/support/nats.ts';
import { describeStoreContract } from '../store-suite.ts';
import { createJetStreamStore } from './index.ts';
import { storeNames } from './names.ts';

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
  } finally {
    await nc.close();
  }
}

describeStoreContract('JetStream store', async () => {
  const namespace = `suite${process.pid}_${made++}`;
  const store = createJetStreamStore({ servers: nats.urls, namespace, timeoutMs: 5_000 });
  return { store, cleanup: () => dropNamespace(namespace) };
});
