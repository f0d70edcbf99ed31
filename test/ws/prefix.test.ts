/**
 * Prefix subscriptions: every twin under the prefix, including twins created later (a snapshot of
 * their first version), deletions and recreations, and overlap with id subscriptions on the same
 * connection (one delivery per version).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { changeVersions, connect, createTwin, getTwin, isChangeOf, isSnapshotOf, patchTwin } from './helpers.ts';
import type { Client, Msg } from './helpers.ts';

let t: TestServer;
const clients: Client[] = [];
const open = async (): Promise<Client> => { const c = await connect(t); clients.push(c); return c; };

beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

const twinId = (m: Msg) => (m.twin as { id: string }).id;
const isChange = (twin: string, version: number) => (m: Msg) => isChangeOf(twin)(m) && (m.event as { version: number }).version === version;

describe('subscribe by prefix', () => {
  it('snapshots the existing twins in id order, then includes a twin created later', async () => {
    await createTwin(t, 'site-a:2');
    await createTwin(t, 'site-a:1', { desired: { v: 1 } });
    await createTwin(t, 'site-b:1');
    const c = await open();
    c.send({ op: 'subscribe', ref: 'p', prefix: 'site-a:' });
    expect(await c.next()).toEqual({ op: 'subscribed', ref: 'p' });
    const snaps = await c.take(2);
    expect(snaps.map((m) => [m.op, twinId(m)])).toEqual([['snapshot', 'site-a:1'], ['snapshot', 'site-a:2']]);
    expect(snaps[0]!.twin).toEqual(await getTwin(t, 'site-a:1'));

    await createTwin(t, 'site-a:3', { desired: { fresh: true } });
    const created = await c.next();
    expect(created).toEqual({ op: 'snapshot', twin: await getTwin(t, 'site-a:3') });
    await patchTwin(t, 'site-a:3', { desired: { fresh: false } });
    expect(await c.next()).toMatchObject({ op: 'change', event: { twin: 'site-a:3', version: 2 } });
    await patchTwin(t, 'site-b:1', { desired: { other: 1 } });
    await patchTwin(t, 'site-a:1', { desired: { v: 2 } });
    // site-b is outside the prefix: the next event is site-a:1's.
    expect(await c.next()).toMatchObject({ op: 'change', event: { twin: 'site-a:1', version: 2 } });
  });

  it('follows a twin through deletion and recreation', async () => {
    await createTwin(t, 'cycle:x');
    const c = await open();
    await c.request({ op: 'subscribe', prefix: 'cycle:' });
    await c.next(isSnapshotOf('cycle:x'));
    expect((await t.call('DELETE', '/v1/twins/cycle:x')).status).toBe(204);
    expect(await c.next()).toEqual({ op: 'deleted', twin: 'cycle:x' });
    await createTwin(t, 'cycle:x', { desired: { again: true } });
    expect(await c.next()).toMatchObject({ op: 'snapshot', twin: { id: 'cycle:x', version: 1, desired: { again: true } } });
  });

  it('delivers each version once when an id subscription and a prefix subscription overlap', async () => {
    await createTwin(t, 'ov:1');
    await createTwin(t, 'ov:2');
    const c = await open();
    await c.request({ op: 'subscribe', twins: ['ov:1'] });
    await c.request({ op: 'subscribe', prefix: 'ov:' });
    await c.request({ op: 'subscribe', prefix: 'ov' });
    await patchTwin(t, 'ov:1', { desired: { n: 1 } });
    await patchTwin(t, 'ov:2', { desired: { n: 1 } });
    await patchTwin(t, 'ov:1', { desired: { n: 2 } });
    await c.next(isChange('ov:1', 3));
    await c.next(isChange('ov:2', 2));
    expect(c.received.filter(isSnapshotOf('ov:1'))).toHaveLength(1);
    expect(c.received.filter(isSnapshotOf('ov:2'))).toHaveLength(1);
    expect(changeVersions(c.received, 'ov:1')).toEqual([2, 3]);
    expect(changeVersions(c.received, 'ov:2')).toEqual([2]);
    // Dropping one of the overlapping subscriptions keeps the twin covered by the others.
    await c.request({ op: 'unsubscribe', prefix: 'ov:' });
    await c.request({ op: 'unsubscribe', twins: ['ov:1'] });
    await patchTwin(t, 'ov:1', { desired: { n: 3 } });
    await c.next(isChange('ov:1', 4));
    await c.request({ op: 'unsubscribe', prefix: 'ov' });
    await patchTwin(t, 'ov:1', { desired: { n: 4 } });
    await createTwin(t, 'ov-marker');
    await c.request({ op: 'subscribe', twins: ['ov-marker'] });
    await c.next(isSnapshotOf('ov-marker'));
    expect(changeVersions(c.received, 'ov:1')).toEqual([2, 3, 4]);
  });

  it('starts again with a snapshot after unsubscribing and subscribing again', async () => {
    await createTwin(t, 'again:1');
    const c = await open();
    await c.request({ op: 'subscribe', prefix: 'again:' });
    await c.next(isSnapshotOf('again:1'));
    await c.request({ op: 'unsubscribe', prefix: 'again:' });
    await c.request({ op: 'subscribe', prefix: 'again:' });
    await c.next(isSnapshotOf('again:1'));
  });

  it('misses nothing of twins created and changed while the subscription lists', async () => {
    for (let i = 0; i < 200; i++) await createTwin(t, `race:${String(i).padStart(3, '0')}`);
    const c = await open();
    // Writers run while the subscription is being set up: creations and patches interleave with the listing.
    const writes = (async () => {
      for (let i = 0; i < 40; i++) {
        await Promise.all([
          createTwin(t, `race:new-${i}`),
          patchTwin(t, `race:${String(i * 5).padStart(3, '0')}`, { desired: { i } }),
        ]);
      }
    })();
    c.send({ op: 'subscribe', ref: 'r', prefix: 'race:' });
    await writes;
    await patchTwin(t, 'race:000', { desired: { last: true } });
    await c.next((m) => m.op === 'change' && (m.event as { twin: string }).twin === 'race:000' && ((m.event as { patch: { desired: { last?: boolean } } }).patch.desired.last === true));
    // Every twin: one snapshot, then consecutive changes up to its current version.
    const seen = new Map<string, number[]>();
    for (const m of c.received) {
      if (m.op === 'snapshot') {
        const tw = m.twin as { id: string; version: number };
        expect(seen.has(tw.id), `one snapshot of ${tw.id}`).toBe(false);
        seen.set(tw.id, [tw.version]);
      } else if (m.op === 'change') {
        const e = m.event as { twin: string; version: number };
        const versions = seen.get(e.twin);
        expect(versions, `snapshot of ${e.twin} before its changes`).toBeDefined();
        expect(e.version).toBe(versions!.at(-1)! + 1);
        versions!.push(e.version);
      }
    }
    expect(seen.size).toBe(240);
    for (const [id, versions] of seen) expect(versions.at(-1), id).toBe((await getTwin(t, id)).version);
  });
});
