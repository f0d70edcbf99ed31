/**
 * Fan-out sizes: many subscribers of the same twins (1,000 subscriptions over 50 connections, and
 * 1,000 connections on a single twin) and many twins on one connection (2,000 by prefix and by
 * ids). Each change is serialized once and reaches every subscriber in order.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect, createTwin, patchTwin } from './helpers.ts';
import type { Client, Msg } from './helpers.ts';

let t: TestServer;
const clients: Client[] = [];

beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

/** Creates (or patches) twins over HTTP, 50 requests at a time (setup; the WebSocket side is under test). */
async function writeTwins(ids: readonly string[], write: (id: string) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map(write));
}
const createTwins = (ids: readonly string[]) => writeTwins(ids, (id) => createTwin(t, id, { desired: { n: 0 } }));

async function openMany(n: number): Promise<Client[]> {
  const out: Client[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => connect(t)));
    out.push(...batch);
  }
  clients.push(...out);
  return out;
}

/** Waits until `c` has received `n` frames in all. */
const until = (c: Client, n: number) => c.waitFor(() => c.received.length >= n, `${n} frames`, 20_000);

const isChange = (m: Msg) => m.op === 'change';
const isSnapshot = (m: Msg) => m.op === 'snapshot';

describe('fan-out', () => {
  it('delivers every change to 1,000 subscriptions over 50 connections', async () => {
    const twins = Array.from({ length: 20 }, (_, i) => `fan:${i}`);
    await createTwins(twins);
    const conns = await openMany(50);
    await Promise.all(conns.map((c) => c.request({ op: 'subscribe', twins })));
    await Promise.all(conns.map((c) => until(c, 1 + twins.length)));
    const rounds = 5;
    for (let r = 1; r <= rounds; r++) {
      await Promise.all(twins.map((id) => t.call('PATCH', `/v1/twins/${id}`, { body: { desired: { n: r } } })));
    }
    // subscribed, a snapshot per twin, then every change of every twin.
    await Promise.all(conns.map((c) => until(c, 1 + twins.length + twins.length * rounds)));
    for (const c of conns) {
      for (const id of twins) {
        const versions = c.received.filter((m) => isChange(m) && (m.event as { twin: string }).twin === id).map((m) => (m.event as { version: number }).version);
        expect(versions).toEqual([2, 3, 4, 5, 6]);
      }
    }
  });

  it('delivers a change of one twin to 1,000 connections', async () => {
    await createTwins(['hot']);
    const conns = await openMany(1000);
    await Promise.all(conns.map((c) => c.request({ op: 'subscribe', twins: ['hot'] })));
    await Promise.all(conns.map((c) => until(c, 2)));
    for (let n = 1; n <= 3; n++) await t.call('PATCH', '/v1/twins/hot', { body: { desired: { n } } });
    await Promise.all(conns.map((c) => until(c, 5)));
    for (const c of conns) expect(c.received.filter(isChange).map((m) => (m.event as { version: number }).version)).toEqual([2, 3, 4]);
    for (const c of conns) c.close();
  });

  it('holds 2,000 twins on one connection, by prefix and by ids', async () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `many:${String(i).padStart(4, '0')}`);
    await createTwins(ids);
    const [byPrefix, byIds] = await openMany(2);
    await byPrefix!.request({ op: 'subscribe', prefix: 'many:' });
    await byIds!.request({ op: 'subscribe', twins: ids });
    await until(byPrefix!, 1 + ids.length);
    await until(byIds!, 1 + ids.length);
    expect(byPrefix!.received.filter(isSnapshot).map((m) => (m.twin as { id: string }).id)).toEqual(ids);
    await writeTwins(ids, (id) => patchTwin(t, id, { desired: { n: 1 } }));
    await until(byPrefix!, 1 + 2 * ids.length);
    await until(byIds!, 1 + 2 * ids.length);
    for (const c of [byPrefix!, byIds!]) {
      const changed = new Set(c.received.filter(isChange).map((m) => (m.event as { twin: string; version: number }).twin));
      expect(changed.size).toBe(ids.length);
    }
  });
});
