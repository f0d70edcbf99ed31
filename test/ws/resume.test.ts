/**
 * Resuming (CONTRACT §2, §7): a client disconnects, the twin changes over HTTP, and the client
 * reconnects with `since` to get exactly the events it missed; once those left history
 * (`--history-retention 3`) it gets a snapshot marked `"resync": true` instead.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { connect, createTwin, getTwin, isChangeOf, isSnapshotOf, patchTwin } from './helpers.ts';
import type { Client, Json, Msg } from './helpers.ts';

let t: TestServer;
const clients: Client[] = [];
const open = async (): Promise<Client> => { const c = await connect(t); clients.push(c); return c; };

beforeAll(async () => { t = await startTestServer(['--history-retention', '3']); });
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

/** Subscribes, takes the snapshot, disconnects; returns the version the client holds. */
async function watchThenLeave(subscribe: Json, twin: string): Promise<number> {
  const c = await open();
  await c.request({ op: 'subscribe', ...subscribe });
  const snap = await c.next(isSnapshotOf(twin));
  c.close();
  await c.closed;
  return (snap.twin as { version: number }).version;
}

const version = (m: Msg) => (m.event as { version: number }).version;

describe('resume with since', () => {
  it('replays exactly the missed change events, then continues live', async () => {
    await createTwin(t, 'res-1', { desired: { n: 0 } });
    const held = await watchThenLeave({ twins: ['res-1'] }, 'res-1');
    expect(held).toBe(1);
    for (let n = 1; n <= 2; n++) await patchTwin(t, 'res-1', { desired: { n } });
    const c = await open();
    c.send({ op: 'subscribe', ref: 'again', twins: ['res-1'], since: { 'res-1': held } });
    expect(await c.next()).toEqual({ op: 'subscribed', ref: 'again' });
    const missed = await c.take(2);
    expect(missed.map((m) => [m.op, version(m)])).toEqual([['change', 2], ['change', 3]]);
    expect(missed[1]!.event).toMatchObject({ twin: 'res-1', patch: { desired: { n: 2 } }, via: 'http' });
    await patchTwin(t, 'res-1', { desired: { n: 3 } });
    expect(version(await c.next())).toBe(4);
    expect(c.received.filter((m) => m.op === 'snapshot')).toEqual([]);
  });

  it('sends nothing but live changes when the client is already current', async () => {
    await createTwin(t, 'res-2');
    const c = await open();
    await c.request({ op: 'subscribe', twins: ['res-2'], since: { 'res-2': 1 } });
    await patchTwin(t, 'res-2', { desired: { x: 1 } });
    expect(await c.next()).toMatchObject({ op: 'change', event: { version: 2 } });
    expect(c.received.map((m) => m.op)).toEqual(['subscribed', 'change']);
  });

  it('sends a resync snapshot when the missed events left history', async () => {
    await createTwin(t, 'res-3', { desired: { n: 0 } });
    const held = await watchThenLeave({ twins: ['res-3'] }, 'res-3');
    for (let n = 1; n <= 5; n++) await patchTwin(t, 'res-3', { desired: { n } });
    const c = await open();
    await c.request({ op: 'subscribe', twins: ['res-3'], since: { 'res-3': held } });
    const snap = await c.next();
    expect(snap).toEqual({ op: 'snapshot', resync: true, twin: await getTwin(t, 'res-3') });
    expect((snap.twin as { version: number }).version).toBe(6);
    await patchTwin(t, 'res-3', { desired: { n: 6 } });
    expect(version(await c.next(isChangeOf('res-3')))).toBe(7);
  });

  it('replays from the last event still in history when only that much was missed', async () => {
    await createTwin(t, 'res-4');
    for (let n = 1; n <= 5; n++) await patchTwin(t, 'res-4', { desired: { n } });
    // Retention 3 keeps versions 4, 5, 6: since 3 is still resumable, since 2 is not.
    const ok = await open();
    await ok.request({ op: 'subscribe', twins: ['res-4'], since: { 'res-4': 3 } });
    expect((await ok.take(3)).map(version)).toEqual([4, 5, 6]);
    const late = await open();
    await late.request({ op: 'subscribe', twins: ['res-4'], since: { 'res-4': 2 } });
    expect(await late.next()).toMatchObject({ op: 'snapshot', resync: true, twin: { version: 6 } });
  });

  it('resumes a prefix subscription per twin: replays, resyncs, snapshots and reports twins deleted meanwhile', async () => {
    for (const id of ['pr:a', 'pr:b', 'pr:c', 'pr:gone']) await createTwin(t, id);
    const c1 = await open();
    await c1.request({ op: 'subscribe', prefix: 'pr:' });
    const first = await c1.take(4, (m) => m.op === 'snapshot');
    const held: Record<string, number> = {};
    for (const m of first) { const tw = m.twin as { id: string; version: number }; held[tw.id] = tw.version; }
    c1.close();
    await c1.closed;
    await patchTwin(t, 'pr:a', { desired: { x: 1 } });
    for (let n = 0; n < 4; n++) await patchTwin(t, 'pr:b', { desired: { n } });
    expect((await t.call('DELETE', '/v1/twins/pr:gone')).status).toBe(204);
    await createTwin(t, 'pr:new');
    // pr:c is unchanged and pr:new is not in `since`.
    const c2 = await open();
    await c2.request({ op: 'subscribe', prefix: 'pr:', since: held });
    await c2.next((m) => m.op === 'deleted' && m.twin === 'pr:gone');
    expect(version(await c2.next(isChangeOf('pr:a')))).toBe(2);
    expect(await c2.next(isSnapshotOf('pr:b'))).toMatchObject({ resync: true, twin: { version: 5 } });
    expect(await c2.next(isSnapshotOf('pr:new'))).toMatchObject({ twin: { version: 1 } });
    // Nothing else was queued: the next event is pr:c's first live change.
    await patchTwin(t, 'pr:c', { desired: { y: 1 } });
    expect(await c2.next((m) => m.op !== 'subscribed')).toMatchObject({ op: 'change', event: { twin: 'pr:c', version: 2 } });
    expect(c2.pending()).toEqual([]);
  });
});
