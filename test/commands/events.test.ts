/**
 * Command lifecycle events to apps: a WebSocket app session following the twin (by id or prefix)
 * and a Server-Sent Events stream of the twin get the command on every status change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { expectJson, openSse } from '../http/helpers.ts';
import type { SseStream } from '../http/helpers.ts';
import { connect } from '../ws/helpers.ts';
import type { Client, Msg } from '../ws/helpers.ts';
import { apiKey, queue, twinWithToken } from './helpers.ts';

let t: TestServer;
const clients: Client[] = [];
const streams: SseStream[] = [];
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of streams) s.close();
  await t.stop();
});

const isCommandEvent = (m: Msg) => m.op === 'command';
const statusOf = (m: Msg) => (m.command as { status: string }).status;

describe('command lifecycle events', () => {
  it('a WebSocket app following the twin gets every status change; others get none', async () => {
    const device = await twinWithToken(t, 'ev-1');
    await twinWithToken(t, 'other-1');
    const app = await connect(t);
    clients.push(app);
    expect(await app.request({ op: 'subscribe', prefix: 'ev-' })).toMatchObject({ op: 'subscribed' });
    const cmd = await queue(t, 'ev-1', { name: 'reboot', ttlSeconds: 600 });
    await queue(t, 'other-1', { name: 'reboot', ttlSeconds: 600 });
    await expectJson(await t.call('GET', '/v1/twins/ev-1/commands?status=queued', { token: device }), 200);
    await expectJson(await t.call('POST', `/v1/twins/ev-1/commands/${cmd.id}/result`, { body: { status: 'succeeded', result: 1 }, token: device }), 200);
    const events = await app.take(3, isCommandEvent);
    expect(events.map(statusOf)).toEqual(['queued', 'delivered', 'succeeded']);
    expect(events[2]).toMatchObject({ op: 'command', twin: 'ev-1', command: { id: cmd.id, name: 'reboot', status: 'succeeded', result: 1 } });
    // A barrier: anything about other-1 would have arrived before this reply.
    await app.request({ op: 'get', twin: 'ev-1' });
    expect(app.pending().filter(isCommandEvent)).toEqual([]);
  });

  it('tells of an expiry when it is due, with nobody reading the command', async () => {
    await twinWithToken(t, 'ev-3');
    const app = await connect(t);
    clients.push(app);
    await app.request({ op: 'subscribe', twins: ['ev-3'] });
    const cmd = await queue(t, 'ev-3', { name: 'reboot', ttlSeconds: 1 });
    const events = await app.take(2, isCommandEvent, 15_000);
    expect(events.map(statusOf)).toEqual(['queued', 'expired']);
    expect(events[1]).toMatchObject({ twin: 'ev-3', command: { id: cmd.id, status: 'expired' } });
  });

  it('a key reading only its prefix never hears of commands outside it', async () => {
    await twinWithToken(t, 'pa-1');
    await twinWithToken(t, 'pb-1');
    const app = await connect(t, await apiKey(t, ['twins:read'], 'pa-'));
    clients.push(app);
    await app.request({ op: 'subscribe', prefix: '' });
    await queue(t, 'pb-1', { name: 'x', ttlSeconds: 60 });
    await queue(t, 'pa-1', { name: 'y', ttlSeconds: 60 });
    expect((await app.next(isCommandEvent)).twin).toBe('pa-1');
    await app.request({ op: 'get', twin: 'pa-1' });
    expect(app.pending().filter(isCommandEvent)).toEqual([]);
  });

  it('the twin\'s SSE stream has a command event on every status change', async () => {
    await twinWithToken(t, 'ev-2');
    const { response, stream } = await openSse(t, '/v1/twins/ev-2/events');
    expect(response.status).toBe(200);
    streams.push(stream!);
    expect((await stream!.take(1))[0]!.event).toBe('snapshot');
    const cmd = await queue(t, 'ev-2', { name: 'reboot', ttlSeconds: 600 });
    await expectJson(await t.call('DELETE', `/v1/twins/ev-2/commands/${cmd.id}`), 200);
    const events = await stream!.take(2);
    expect(events.map((e) => e.event)).toEqual(['command', 'command']);
    expect(events.map((e) => (JSON.parse(e.data) as { status: string }).status)).toEqual(['queued', 'cancelled']);
    expect(JSON.parse(events[1]!.data)).toMatchObject({ id: cmd.id, name: 'reboot' });
  });
});
