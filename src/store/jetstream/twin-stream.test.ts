// Appends on a real nats-server: the fence, and the dedupe id that makes a retried append of the
// same record idempotent (a retry after an ambiguous timeout must not be fenced by itself).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from '../../../bench/nats-servers.ts';
import type { NatsCluster } from '../../../bench/nats-servers.ts';
import { sampleTwin } from '../store-suite.ts';
import { openConnection, parseStoreOptions } from './connection.ts';
import type { Connected } from './connection.ts';
import { EMPTY_HEAD, planRecord } from './record.ts';
import { TwinStream } from './twin-stream.ts';

let nats: NatsCluster;
let c: Connected;
let stream: TwinStream;

beforeAll(async () => {
  nats = await startNats(1);
  c = await openConnection(parseStoreOptions({ servers: nats.urls, namespace: 'appends' }));
  stream = new TwinStream(c, 5_000);
}, 60_000);
afterAll(async () => {
  await c?.nc.close();
  await nats?.stop();
});

const recordOf = (version: number) => planRecord(EMPTY_HEAD, [{ type: 'putTwin', twin: sampleTwin('a.b', { version }) }])!;

describe('TwinStream.append()', () => {
  it('answers the first sequence again when the same record is appended again on the same predecessor', async () => {
    const record = recordOf(1);
    const bytes = TwinStream.encode(record);
    const first = await stream.append('a.b', record, bytes, 0);
    expect(await stream.append('a.b', record, bytes, 0)).toBe(first);
    expect(await stream.records('a.b')).toHaveLength(1);
    expect((await stream.head('a.b')).seq).toBe(first);
  });

  it('fences a different record on a predecessor that is no longer the last', async () => {
    const { seq } = await stream.head('a.b');
    const next = recordOf(2);
    const written = await stream.append('a.b', next, TwinStream.encode(next), seq);
    const rival = recordOf(3);
    await expect(stream.append('a.b', rival, TwinStream.encode(rival), seq)).rejects.toMatchObject({ code: 'unavailable', details: { reason: 'fenced' } });
    expect((await stream.head('a.b')).seq).toBe(written);
  });
});
