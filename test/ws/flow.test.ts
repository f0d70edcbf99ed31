/**
 * Flow control and hostile input: a subscriber that stops reading is closed with 4008
 * `slow_consumer` once its backlog passes `--ws-max-backlog-bytes` while a fast one keeps receiving;
 * malformed, non-object, unknown and invalid messages get `invalid_request` and the connection stays
 * usable; binary frames close with 1003 and oversize ones with 1009 (the adapter's job).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Socket } from 'node:net';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { changeVersions, connect, createTwin, eventually, isChangeOf, isSnapshotOf, metric, patchTwin } from './helpers.ts';
import type { Client } from './helpers.ts';

const MAX_BACKLOG = 64 * 1024;
let t: TestServer;
const clients: Client[] = [];
const open = async (): Promise<Client> => { const c = await connect(t); clients.push(c); return c; };

beforeAll(async () => { t = await startTestServer(['--ws-max-backlog-bytes', String(MAX_BACKLOG), '--max-body-bytes', '65536']); });
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

const socketOf = (c: Client) => (c.ws as unknown as { _socket: Socket })._socket;

describe('backpressure', () => {
  it('closes a subscriber that stops reading with 4008 slow_consumer while a fast one keeps receiving', async () => {
    await createTwin(t, 'flow-big');
    const slow = await open();
    const fast = await open();
    for (const c of [slow, fast]) {
      await c.request({ op: 'subscribe', twins: ['flow-big'] });
      await c.next(isSnapshotOf('flow-big'));
    }
    socketOf(slow).pause();
    // ~30 KiB per change: the kernel's socket buffers fill first, then the server-side backlog.
    const blob = 'x'.repeat(30_000);
    let writes = 0;
    while ((await metric(t, 'doppel_ws_slow_consumers_total')) === 0) {
      expect(writes, 'the slow subscriber was never closed').toBeLessThan(3000);
      for (let i = 0; i < 10; i++) await patchTwin(t, 'flow-big', { desired: { blob: `${blob}${++writes}` } });
    }
    const last = writes + 1;
    await fast.next((m) => isChangeOf('flow-big')(m) && (m.event as { version: number }).version === last);
    expect(changeVersions(fast.received, 'flow-big')).toEqual(Array.from({ length: writes }, (_, i) => i + 2));
    expect(await metric(t, 'doppel_ws_connections{kind="app"}')).toBe(clients.length - 1);
    // Reading again, the slow client drains what was queued and then sees the close frame.
    socketOf(slow).resume();
    expect(await slow.closed).toEqual({ code: 4008, reason: 'slow_consumer' });
    // The server stopped queueing for it at the bound: it got fewer changes than the fast one.
    expect(changeVersions(slow.received, 'flow-big').length).toBeLessThan(writes);
  });
});

describe('bad frames', () => {
  it('answers malformed JSON with invalid_request and keeps the connection usable', async () => {
    await createTwin(t, 'flow-ok');
    const c = await open();
    c.send('{"op":"get",');
    const error = await c.next();
    expect(error).toMatchObject({ op: 'error', code: 'invalid_request' });
    expect(error.message).toMatch(/^Malformed JSON: /);
    expect('ref' in error).toBe(false);
    expect(await c.request({ op: 'get', twin: 'flow-ok' })).toMatchObject({ op: 'twin' });
  });

  it('answers non-object JSON, a missing op and an unknown op with invalid_request, echoing the ref when there is one', async () => {
    const c = await open();
    for (const text of ['[1,2]', '"get"', 'null', '42']) {
      c.send(text);
      expect(await c.next()).toEqual({ op: 'error', code: 'invalid_request', message: 'Invalid message: expected a JSON object with an "op"' });
    }
    c.send({ ref: 'no-op' });
    expect(await c.next()).toEqual({ op: 'error', ref: 'no-op', code: 'invalid_request', message: 'Missing "op": expected one of subscribe, unsubscribe, get, patch, report, result' });
    c.send({ op: 'fly', ref: 7 });
    expect(await c.next()).toEqual({ op: 'error', ref: 7, code: 'invalid_request', message: 'Unknown op "fly": expected one of subscribe, unsubscribe, get, patch, report, result' });
    expect(await c.request({ op: 'get', twin: 'flow-ok' })).toMatchObject({ op: 'twin' });
  });

  it('answers invalid fields with invalid_request naming the field', async () => {
    const c = await open();
    expect(await c.request({ op: 'get', twin: 5 })).toMatchObject({ code: 'invalid_request', details: { path: ['twin'] } });
    const typo = await c.request({ op: 'patch', twin: 'flow-ok', desird: { a: 1 } });
    expect(typo).toMatchObject({ code: 'invalid_request' });
    expect(typo.message).toBe('Unknown key "desird" in "patch" message');
    expect(await c.request({ op: 'subscribe', twins: [] })).toMatchObject({ code: 'invalid_request' });
    expect(await c.request({ op: 'subscribe' })).toMatchObject({ code: 'invalid_request', message: 'Invalid "subscribe" message: give either "twins" or "prefix"' });
    expect(await c.request({ op: 'subscribe', twins: ['flow-ok'], prefix: 'f' })).toMatchObject({ code: 'invalid_request' });
    expect(await c.request({ op: 'subscribe', twins: ['flow-ok'], since: { 'flow-ok': -1 } })).toMatchObject({ code: 'invalid_request', details: { path: ['since', 'flow-ok'] } });
    expect(await c.request({ op: 'patch', twin: 'flow-ok', desired: {}, ifVersion: 'one' })).toMatchObject({ code: 'invalid_request' });
    expect(await c.request({ op: 'patch', twin: 'flow-ok', desired: {}, clientToken: 'x'.repeat(65) })).toMatchObject({ code: 'invalid_request' });
    c.send({ op: 'get', ref: { nested: true }, twin: 'flow-ok' });
    expect(await c.next()).toMatchObject({ op: 'error', code: 'invalid_request', message: 'Invalid "ref": expected a string of at most 256 characters or a number' });
    expect(await c.request({ op: 'get', twin: 'flow-ok' })).toMatchObject({ op: 'twin' });
  });

  it('closes the connection with 1003 on a binary frame', async () => {
    const c = await open();
    c.ws.send(Buffer.from('{"op":"get","twin":"flow-ok"}'), { binary: true });
    expect((await c.closed).code).toBe(1003);
  });

  it('closes the connection with 1009 on a frame over the size limit', async () => {
    const c = await open();
    c.send({ op: 'patch', twin: 'flow-ok', desired: { big: 'x'.repeat(70_000) } });
    expect((await c.closed).code).toBe(1009);
  });
});

describe('metrics', () => {
  it('counts connections by kind, subscriptions and requests by op', async () => {
    await createTwin(t, 'flow-m');
    const before = (await metric(t, 'doppel_ws_messages_total{op="get"}'))!;
    const subsBefore = (await metric(t, 'doppel_ws_subscriptions'))!;
    const c = await open();
    await c.request({ op: 'get', twin: 'flow-m' });
    await c.request({ op: 'subscribe', twins: ['flow-m'] });
    await c.request({ op: 'subscribe', prefix: 'flow-m' });
    expect(await metric(t, 'doppel_ws_messages_total{op="get"}')).toBe(before + 1);
    expect(await metric(t, 'doppel_ws_subscriptions')).toBe(subsBefore + 2);
    c.send('nonsense');
    await c.next((m) => m.op === 'error');
    expect(await metric(t, 'doppel_ws_messages_total{op="invalid"}')).toBeGreaterThanOrEqual(1);
    c.close();
    await c.closed;
    await eventually(async () => ((await metric(t, 'doppel_ws_subscriptions')) === subsBefore ? true : undefined), 'subscriptions released');
    expect(await metric(t, 'doppel_ws_connections{kind="device"}')).toBe(0);
  });
});
