/**
 * The Server-Sent Events stream of a twin (CONTRACT §2, §5), read with fetch streaming and parsed
 * here: snapshot first, changes in version order, exact resume with Last-Event-ID, resync after
 * history was trimmed, `deleted` ends the stream, and no gaps or duplicates under concurrency.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin, eventually, expectProblem, getTwin, openSse, patchTwin } from './helpers.ts';
import { metric } from '../support/metric.ts';
import type { Json, SseEvent, SseStream } from './helpers.ts';

const RETENTION = 3;
let t: TestServer;
const open: SseStream[] = [];

beforeAll(async () => { t = await startTestServer(['--history-retention', String(RETENTION)]); });
afterAll(async () => {
  for (const s of open) s.close();
  await t.stop();
});

async function subscribe(id: string, headers: Record<string, string> = {}, query = ''): Promise<SseStream> {
  const { response, stream } = await openSse(t, `/v1/twins/${id}/events${query}`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  open.push(stream!);
  return stream!;
}

const data = (e: SseEvent) => JSON.parse(e.data) as Json & { version: number };

describe('GET /v1/twins/{id}/events', () => {
  it('starts with a snapshot of the twin whose id is its version', async () => {
    await createTwin(t, 'sse-1', { desired: { temp: 21 }, tags: { site: 'berlin' } });
    await patchTwin(t, 'sse-1', { desired: { temp: 22 } });
    const s = await subscribe('sse-1');
    const first = (await s.next())!;
    expect(first.event).toBe('snapshot');
    expect(first.id).toBe('2');
    expect(first.rawId).toMatch(/^2\.[0-9a-z]+$/);
    const snap = data(first);
    expect(snap).toEqual(await getTwin(t, 'sse-1'));
    expect('resync' in snap).toBe(false);
    s.close();
  });

  it('then sends every change as a change event, in order, with the version as its id', async () => {
    await createTwin(t, 'sse-2', { desired: { n: 0 } });
    const s = await subscribe('sse-2');
    expect((await s.next())!.event).toBe('snapshot');
    await patchTwin(t, 'sse-2', { desired: { n: 1 }, clientToken: 'first' });
    await t.call('PATCH', '/v1/twins/sse-2/reported', { body: { n: 1 } });
    await patchTwin(t, 'sse-2', { tags: { x: 'y' } });
    const events = await s.take(3);
    expect(events.map((e) => [e.event, e.id])).toEqual([['change', '2'], ['change', '3'], ['change', '4']]);
    expect(data(events[0]!)).toEqual({ twin: 'sse-2', version: 2, at: expect.any(String), via: 'http', clientToken: 'first', patch: { desired: { n: 1 } }, delta: { n: 1 } });
    expect(data(events[1]!)).toMatchObject({ version: 3, patch: { reported: { n: 1 } }, delta: {} });
    expect(data(events[2]!)).toMatchObject({ version: 4, patch: { tags: { x: 'y' } } });
    // A no-op emits nothing: the next event is the next real change.
    await patchTwin(t, 'sse-2', { desired: { n: 1 } });
    await patchTwin(t, 'sse-2', { desired: { n: 2 } });
    expect((await s.next())!.id).toBe('5');
    s.close();
  });

  it('resumed with Last-Event-ID sends exactly the missed events and no snapshot', async () => {
    await createTwin(t, 'sse-3', { desired: { n: 0 } });
    for (let n = 1; n <= 2; n++) await patchTwin(t, 'sse-3', { desired: { n } }); // version 3; history keeps 1..3
    const s = await subscribe('sse-3', { 'last-event-id': '1' });
    const missed = await s.take(2);
    expect(missed.map((e) => [e.event, e.id])).toEqual([['change', '2'], ['change', '3']]);
    expect(missed.map((e) => data(e).patch)).toEqual([{ desired: { n: 1 } }, { desired: { n: 2 } }]);
    // Then live, with nothing repeated.
    await patchTwin(t, 'sse-3', { desired: { n: 3 } });
    const live = (await s.next())!;
    expect([live.event, live.id]).toEqual(['change', '4']);
    s.close();
  });

  it('resumed at the current version sends nothing until the next change; ?since= works like Last-Event-ID', async () => {
    await createTwin(t, 'sse-4', { desired: { n: 0 } });
    await patchTwin(t, 'sse-4', { desired: { n: 1 } });
    const s = await subscribe('sse-4', {}, '?since=2');
    const viaQuery = await subscribe('sse-4', {}, '?since=1');
    await patchTwin(t, 'sse-4', { desired: { n: 2 } });
    const e = (await s.next())!;
    expect([e.event, e.id]).toEqual(['change', '3']);
    expect((await viaQuery.take(2)).map((x) => x.id)).toEqual(['2', '3']);
    s.close();
    viaQuery.close();
  });

  it('resumed from a version that has left history sends a snapshot marked resync, then goes on live', async () => {
    await createTwin(t, 'sse-5', { desired: { n: 0 } });
    for (let n = 1; n <= 9; n++) await patchTwin(t, 'sse-5', { desired: { n } }); // version 10; history 8..10
    const { items } = await (await t.call('GET', '/v1/twins/sse-5/history')).json() as { items: Array<{ version: number }> };
    expect(items.map((i) => i.version)).toEqual([8, 9, 10]);

    const stale = await subscribe('sse-5', { 'last-event-id': '2' });
    const snap = (await stale.next())!;
    expect([snap.event, snap.id]).toEqual(['snapshot', '10']);
    expect(data(snap)).toMatchObject({ id: 'sse-5', version: 10, desired: { n: 9 }, resync: true });

    // Still in history: exactly the missed events, no resync.
    const fresh = await subscribe('sse-5', { 'last-event-id': '7' });
    expect((await fresh.take(3)).map((e) => [e.event, e.id])).toEqual([['change', '8'], ['change', '9'], ['change', '10']]);

    // A version from the future (the client is confused, or the twin was recreated): resync too.
    const future = await subscribe('sse-5', { 'last-event-id': '99' });
    const again = (await future.next())!;
    expect([again.event, again.id]).toEqual(['snapshot', '10']);
    expect(data(again).resync).toBe(true);

    await patchTwin(t, 'sse-5', { desired: { n: 10 } });
    for (const s of [stale, fresh, future]) expect((await s.next())!.id).toBe('11');
    for (const s of [stale, fresh, future]) s.close();
  });

  it('sends deleted and ends the stream when the twin is deleted', async () => {
    await createTwin(t, 'sse-6', { desired: { a: 1 } });
    const s = await subscribe('sse-6');
    expect((await s.next())!.event).toBe('snapshot');
    expect((await t.call('DELETE', '/v1/twins/sse-6')).status).toBe(204);
    const last = (await s.next())!;
    expect(last.event).toBe('deleted');
    expect(JSON.parse(last.data)).toEqual({ twin: 'sse-6' });
    expect(await s.next()).toBeNull();
    expect(s.done).toBe(true);
    // A twin created again under the same id does not reach the ended stream, and is a new stream's snapshot.
    await createTwin(t, 'sse-6', { desired: { b: 2 } });
    const again = await subscribe('sse-6');
    expect(data((await again.next())!)).toMatchObject({ version: 1, desired: { b: 2 } });
    again.close();
  });

  it('resumed with the id of a deleted and recreated twin sends a resync snapshot, not the new life\'s events', async () => {
    await createTwin(t, 'sse-8', { desired: { a: 1 } });
    await patchTwin(t, 'sse-8', { desired: { a: 2 } });
    const first = await subscribe('sse-8');
    const seen = (await first.next())!;
    first.close();
    expect((await t.call('DELETE', '/v1/twins/sse-8')).status).toBe(204);
    await new Promise((r) => setTimeout(r, 2)); // a new life starts at a later millisecond
    await createTwin(t, 'sse-8', { desired: { fan: 1 } });
    await patchTwin(t, 'sse-8', { desired: { fan: 2 } });
    await patchTwin(t, 'sse-8', { desired: { fan: 3 } });
    const resumed = await subscribe('sse-8', { 'last-event-id': seen.rawId! });
    const snap = (await resumed.next())!;
    expect(snap.event).toBe('snapshot');
    expect(data(snap)).toMatchObject({ version: 3, desired: { fan: 3 }, resync: true });
    expect(snap.rawId).not.toBe(seen.rawId!.replace(/^2\./, '3.'));
    resumed.close();
  });

  it('gives events resumed with a bare ?since= the same full ids as a fresh stream', async () => {
    await createTwin(t, 'sse-9');
    const fresh = await subscribe('sse-9');
    const snap = (await fresh.next())!;
    fresh.close();
    await patchTwin(t, 'sse-9', { desired: { a: 1 } });
    const resumed = await subscribe('sse-9', {}, '?since=1');
    const change = (await resumed.next())!;
    expect(change.event).toBe('change');
    expect(change.rawId).toBe(`2.${snap.rawId!.split('.')[1]}`);
    resumed.close();
  });

  it('answers 404 not_found for a missing twin before any stream starts, and 400 for a bad Last-Event-ID', async () => {
    const { response, stream } = await openSse(t, '/v1/twins/no-such-twin/events');
    expect(stream).toBeNull();
    await expectProblem(response, 404, 'not_found');
    await createTwin(t, 'sse-7');
    const bad = await openSse(t, '/v1/twins/sse-7/events', { headers: { 'last-event-id': 'yesterday' } });
    expect(bad.stream).toBeNull();
    await expectProblem(bad.response, 400, 'invalid_request');
  });
});

describe('stream lifetime', () => {
  it('unsubscribes from the twin once the client goes away', async () => {
    // A server of its own, so the open-stream gauge counts only this test's streams.
    const own = await startTestServer();
    try {
      const streamsOpen = () => metric(own, 'doppel_http_event_streams');
      await createTwin(own, 'life-1');
      const streams = await Promise.all([1, 2].map(async () => (await openSse(own, '/v1/twins/life-1/events')).stream!));
      for (const s of streams) expect((await s.next())!.event).toBe('snapshot');
      expect(await streamsOpen()).toBe(2);
      if (own.local !== undefined) expect(own.local.twins.feed.listenerCount('life-1')).toBe(2);
      for (const s of streams) s.close();
      await eventually(async () => ((await streamsOpen()) === 0 ? true : undefined), 'the streams to end');
      if (own.local !== undefined) expect(own.local.twins.feed.listenerCount('life-1')).toBe(0);
      // The twin still works and a new stream starts fresh.
      await patchTwin(own, 'life-1', { desired: { a: 1 } });
      const again = (await openSse(own, '/v1/twins/life-1/events')).stream!;
      expect((await again.next())!).toMatchObject({ event: 'snapshot', id: '2' });
      again.close();
    } finally {
      await own.stop();
    }
  });

  it('ends open streams when the server stops, so stopping does not wait for them', async () => {
    const other = await startTestServer();
    try {
      await createTwin(other, 'stop-1');
      const { stream } = await openSse(other, '/v1/twins/stop-1/events');
      expect((await stream!.next())!.event).toBe('snapshot');
      const started = Date.now();
      await other.stop();
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await stream!.next()).toBeNull();
    } finally {
      await other.stop();
    }
  });
});

describe('streams under concurrent writers', () => {
  it('every subscriber sees every version exactly once, in order', async () => {
    const WRITERS = 4;
    const PER_WRITER = 15;
    const total = 1 + WRITERS * PER_WRITER;
    await createTwin(t, 'busy-1', { desired: {} });
    const subscribers = await Promise.all([subscribe('busy-1'), subscribe('busy-1'), subscribe('busy-1')]);
    for (const s of subscribers) expect((await s.next())!).toMatchObject({ event: 'snapshot', id: '1' });

    // A late subscriber joins while the writes are going on: it must see a contiguous run from its snapshot.
    let late: SseStream | null = null;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < PER_WRITER; i++) {
        const res = await t.call('PATCH', '/v1/twins/busy-1', { body: { desired: { [`w${w}`]: i } } });
        expect(res.status).toBe(200);
        await res.body?.cancel();
        if (w === 0 && i === 5) late = await subscribe('busy-1');
      }
    });
    await Promise.all(writers);

    const expected = Array.from({ length: total - 1 }, (_, k) => String(k + 2));
    const final = await getTwin(t, 'busy-1');
    expect(final.version).toBe(total);
    for (const s of subscribers) {
      const events = await s.take(total - 1);
      expect(events.map((e) => e.event)).toEqual(Array(total - 1).fill('change'));
      expect(events.map((e) => e.id)).toEqual(expected);
      expect(events.map((e) => data(e).version)).toEqual(expected.map(Number));
      // Replaying the patches gives the final desired state.
      const desired: Json = {};
      for (const e of events) Object.assign(desired, (data(e).patch as { desired: Json }).desired);
      expect(desired).toEqual(final.desired);
    }

    const lateStream = late as SseStream | null;
    expect(lateStream).not.toBeNull();
    const snap = (await lateStream!.next())!;
    expect(snap.event).toBe('snapshot');
    const from = Number(snap.id);
    const rest = await lateStream!.take(total - from);
    expect(rest.map((e) => Number(e.id))).toEqual(Array.from({ length: total - from }, (_, k) => from + 1 + k));
    for (const s of [...subscribers, lateStream!]) s.close();
  });
});
