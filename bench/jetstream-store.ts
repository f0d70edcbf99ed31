/**
 * `npm run build && node dist/bench/jetstream-store.js [--cluster]`: commit latency and throughput
 * of the JetStream store against real nats-servers on this machine (one server, R1; or with
 * `--cluster` three servers, R3). Prints one line per figure; short (about 10 s) and bounded.
 */
import { createJetStreamStore } from '../src/store/jetstream/index.ts';
import type { StoreOp } from '../src/store/types.ts';
import type { TwinState } from '../src/twin/types.ts';
import { startNats } from './nats-servers.ts';
import { percentile } from './http-load.ts';

const cluster = process.argv.includes('--cluster');
const T0 = '2026-11-23T10:00:00.000Z';

const twin = (id: string, version: number): TwinState => ({
  id, version, desired: { temp: 21, mode: 'eco' }, reported: { temp: 19.5, fw: '1.2.0' }, delta: { temp: 21 }, tags: { site: 'berlin' },
  metadata: { desired: { temp: { updatedAt: T0 }, mode: { updatedAt: T0 } }, reported: { temp: { updatedAt: T0 }, fw: { updatedAt: T0 } } },
  pendingSince: null, lastSeenAt: T0, lastSeenVia: 'coap', tokenId: null, createdAt: T0, updatedAt: T0,
});
/** The ops of one accepted change, as the twin actor commits them. */
const change = (id: string, version: number): StoreOp[] => [
  { type: 'putTwin', twin: twin(id, version) },
  { type: 'putEvent', event: { twin: id, version, at: T0, via: 'coap', patch: { reported: { temp: 19.5 + version } }, delta: { temp: 21 } } },
];

const nats = await startNats(cluster ? 3 : 1);
const store = createJetStreamStore({ servers: nats.urls, replicas: cluster ? 3 : 1, namespace: 'bench' });
try {
  await store.open();
  const label = cluster ? '3 servers, R3' : '1 server, R1';

  const latencies: number[] = [];
  for (let v = 1; v <= 500; v++) {
    const started = performance.now();
    await store.commit(change('one', v));
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  console.log(`${label}: sequential commits on one twin: p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`);

  const twins = 200;
  const rounds = 10;
  let started = performance.now();
  await Promise.all(Array.from({ length: twins }, async (_, i) => {
    for (let v = 1; v <= rounds; v++) await store.commit(change(`t${i}`, v));
  }));
  let seconds = (performance.now() - started) / 1000;
  console.log(`${label}: ${twins} twins × ${rounds} commits, concurrent: ${Math.round((twins * rounds) / seconds)} commits/s`);

  started = performance.now();
  let listed = 0;
  for await (const _ of store.listTwins({})) listed++;
  seconds = (performance.now() - started) / 1000;
  console.log(`${label}: listTwins of ${listed} twins (barrier + reads): ${(seconds * 1000).toFixed(0)} ms`);

  started = performance.now();
  const history = await store.readHistory('one', { after: 0, limit: 1000 });
  console.log(`${label}: readHistory of ${history.length} events: ${(performance.now() - started).toFixed(0)} ms`);
} finally {
  await store.close();
  await nats.stop();
}
