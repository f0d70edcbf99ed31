// What the JetStream engine shipped here (nats-server 2.9) does and does not do, checked on a real
// server: the design in docs/design/cluster.md rests on each of these facts.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { freePort, startNats } from '../../bench/nats-servers.ts';
import type { NatsCluster } from '../../bench/nats-servers.ts';

let nats: NatsCluster;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startNats(1);
  nc = await connect({ servers: nats.urls });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const apiCode = (err: unknown) => (err instanceof JetStreamApiError ? err.code : err);

describe('nats-server 2.9 JetStream, as Doppel relies on it', () => {
  it('is version 2.9', () => {
    expect(nc.info?.version).toMatch(/^2\.9\./);
  });

  it('compares and sets per subject with Nats-Expected-Last-Subject-Sequence (0: no message yet)', async () => {
    await jsm.streams.add({ name: 'CAS', subjects: ['cas.>'] });
    const first = await js.publish('cas.a', 'v1', { expect: { lastSubjectSequence: 0 } });
    await js.publish('cas.b', 'other subject');
    // Another subject's message does not move cas.a's last sequence.
    const second = await js.publish('cas.a', 'v2', { expect: { lastSubjectSequence: first.seq } });
    const stale = await js.publish('cas.a', 'fork', { expect: { lastSubjectSequence: first.seq } }).catch(apiCode);
    expect(stale).toBe(10071); // "wrong last sequence"
    expect(new TextDecoder().decode((await jsm.streams.getMessage('CAS', { last_by_subj: 'cas.a' }))!.data)).toBe('v2');
    expect(second.seq).toBe(3);
  });

  it('keeps the last N messages per subject with max_msgs_per_subject', async () => {
    await jsm.streams.add({ name: 'LASTN', subjects: ['lastn.>'], max_msgs_per_subject: 3 });
    for (let i = 1; i <= 5; i++) await js.publish('lastn.a', String(i));
    await js.publish('lastn.b', 'b');
    const info = await jsm.streams.info('LASTN', { subjects_filter: '>' });
    expect(info.state.subjects).toEqual({ 'lastn.a': 3, 'lastn.b': 1 });
    expect((await jsm.streams.getMessage('LASTN', { seq: 3 }))?.seq).toBe(3);
    expect(await jsm.streams.getMessage('LASTN', { seq: 2 })).toBeNull(); // discarded
  });

  it('numbers KV revisions with the stream sequence, not per key, and update() is per-key CAS', async () => {
    const kv = await new Kvm(js).create('limits');
    expect([await kv.put('a', 'x'), await kv.put('b', 'y'), await kv.put('a', 'z')]).toEqual([1, 2, 3]);
    expect(apiCode(await kv.update('a', 'w', 1).catch((e: unknown) => e))).toBe(10071);
    expect(await kv.update('a', 'w', 3)).toBe(4);
  });

  it('has no per-message TTL: the stream flag is dropped and a Nats-TTL header is ignored', async () => {
    const made = await jsm.streams.add({ name: 'TTL', subjects: ['ttl.>'], allow_msg_ttl: true } as Parameters<typeof jsm.streams.add>[0]);
    expect((made.config as { allow_msg_ttl?: boolean }).allow_msg_ttl).toBeUndefined();
    const h = headers();
    h.set('Nats-TTL', '1s');
    const ack = await js.publish('ttl.a', 'short-lived?', { headers: h });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await jsm.streams.getMessage('TTL', { last_by_subj: 'ttl.a' }))?.seq).toBe(ack.seq);
  });

  it('has no atomic multi-message publish: batch headers are ignored and each message lands alone', async () => {
    const made = await jsm.streams.add({ name: 'BATCH', subjects: ['batch.>'], allow_atomic: true } as Parameters<typeof jsm.streams.add>[0]);
    expect((made.config as { allow_atomic?: boolean }).allow_atomic).toBeUndefined();
    const h = headers();
    h.set('Nats-Batch-Id', 'b1');
    h.set('Nats-Batch-Sequence', '1');
    const ack = await js.publish('batch.a', 'first of a batch never committed', { headers: h });
    // Stored and visible at once, though its batch was never committed.
    expect((await jsm.streams.getMessage('BATCH', { last_by_subj: 'batch.a' }))?.seq).toBe(ack.seq);
  });

  it('purges one subject down to its last message (a tombstone stays)', async () => {
    await jsm.streams.add({ name: 'PURGE', subjects: ['purge.>'] });
    for (let i = 1; i <= 4; i++) await js.publish('purge.a', String(i));
    await js.publish('purge.b', 'kept');
    expect((await jsm.streams.purge('PURGE', { filter: 'purge.a', keep: 1 })).purged).toBe(3);
    const info = await jsm.streams.info('PURGE', { subjects_filter: '>' });
    expect(info.state.subjects).toEqual({ 'purge.a': 1, 'purge.b': 1 });
  });

  it('cannot be told to fsync every write: `sync_interval` is an unknown field before 2.10', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'doppel-nats-sync-'));
    try {
      const config = join(dir, 'sync.conf');
      await writeFile(config, `port: ${await freePort()}\njetstream { store_dir: "${join(dir, 'js')}", sync_interval: always }\n`);
      // Were the field accepted, the server would run until the timeout kills it (status null).
      const run = spawnSync(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', config], { encoding: 'utf8', timeout: 10_000 });
      expect(run.status).not.toBe(0);
      expect(run.status).not.toBeNull();
      expect(`${run.stdout}${run.stderr}`).toContain('unknown field "sync_interval"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
