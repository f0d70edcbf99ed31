// Job leases against a real nats-server: one holder at a time, renewals by the holder only, and a
// freed lease taken at once by another node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';
import { createJetStreamStore } from '../store/jetstream/index.ts';
import type { JetStreamStore } from '../store/jetstream/index.ts';
import { JobLeases } from './job-leases.ts';
import { LeaseBucket } from './lease-bucket.ts';
import { Kvm } from '@nats-io/kv';

let nats: NatsCluster;
let store: JetStreamStore;

beforeAll(async () => {
  nats = await startNats(1);
  store = createJetStreamStore({ servers: nats.urls, namespace: 'leases', timeoutMs: 5_000 });
  await store.open();
}, 60_000);
afterAll(async () => {
  await store?.close();
  await nats?.stop();
});

describe('JobLeases', () => {
  it('lets one node at a time hold a job, renews for the holder and hands a freed lease over', async () => {
    const bucket = await LeaseBucket.open(store.connected, 'leases', 1);
    const a = new JobLeases(bucket, { id: 'a', instance: 'a1' });
    const b = new JobLeases(bucket, { id: 'b', instance: 'b1' });
    const job = 'j-00000000-0000-4000-8000-000000000001';
    expect(await a.acquire(job)).toBe(true);
    expect(a.holds(job)).toBe(true);
    expect(await b.acquire(job)).toBe(false);
    expect(b.holds(job)).toBe(false);
    expect(await a.acquire(job)).toBe(true); // a renewal
    // A restarted process (same id, new instance) waits too: the lease is its predecessor's.
    expect(await new JobLeases(bucket, { id: 'a', instance: 'a2' }).acquire(job)).toBe(false);
    await a.release(job);
    expect(a.holds(job)).toBe(false);
    expect(await b.acquire(job)).toBe(true);
    expect(await a.acquire(job)).toBe(false);
    expect((await bucket.read(`j.${job}`))?.holder).toBe('b');
  });

  it('ignores a malformed lease value (not JSON, or not a lease) as an expired lease instead of throwing, and takes that key over', async () => {
    const bucket = await LeaseBucket.open(store.connected, 'leases', 1);
    const kv = await new Kvm(store.connected.js).open('dpl_leases_leases');
    const job = 'j-00000000-0000-4000-8000-000000000002';
    await kv.put(`j.${job}`, '{not json');
    expect(await bucket.read(`j.${job}`)).toMatchObject({ holder: '', expiresAt: 0 }); // expired: free
    expect((await bucket.readAll('j.>')).get(`j.${job}`)?.expiresAt).toBe(0);
    const a = new JobLeases(bucket, { id: 'a', instance: 'a1' });
    expect(await a.acquire(job)).toBe(true);
    await a.forget(job);
    expect(await kv.get(`j.${job}`).then((e) => e?.operation ?? null)).not.toBe('PUT');
  });
});
