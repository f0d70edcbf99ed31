/**
 * Commands in a WebSocket device session (the `ws` package as the device): open commands on
 * connect, new ones as they are added, answers with `result` → `ok`, the first answer wins;
 * direct commands delivered to the live session and answered within the HTTP request, or timing out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { expectJson, expectProblem } from '../http/helpers.ts';
import { connect } from '../ws/helpers.ts';
import type { Client, Msg } from '../ws/helpers.ts';
import { queue, twinWithToken } from './helpers.ts';
import type { CommandJson } from './helpers.ts';

let t: TestServer;
const clients: Client[] = [];
const open = async (token: string): Promise<Client> => { const c = await connect(t, token); clients.push(c); return c; };
const isCommand = (m: Msg) => m.op === 'command';

beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => {
  for (const c of clients) c.close();
  await t.stop();
});

describe('commands in a WebSocket device session', () => {
  it('sends the open commands on connect and each new one as it is added; result answers it', async () => {
    const token = await twinWithToken(t, 'w-1');
    const before = await queue(t, 'w-1', { name: 'reboot', payload: { delay: 1 }, ttlSeconds: 600 });
    const d = await open(token);
    expect(await d.next(isCommand)).toEqual({ op: 'command', command: { id: before.id, name: 'reboot', payload: { delay: 1 } } });
    const added = await queue(t, 'w-1', { name: 'selftest', ttlSeconds: 600 });
    expect(await d.next(isCommand)).toEqual({ op: 'command', command: { id: added.id, name: 'selftest', payload: null } });
    expect(await d.request({ op: 'result', command: before.id, status: 'succeeded', result: { up: true } })).toEqual({ op: 'ok', ref: expect.any(String) });
    expect(await expectJson(await t.call('GET', `/v1/twins/w-1/commands/${before.id}`), 200)).toMatchObject({ status: 'succeeded', result: { up: true } });
    // Sent to the session means delivered.
    expect(await expectJson(await t.call('GET', `/v1/twins/w-1/commands/${added.id}`), 200)).toMatchObject({ status: 'delivered' });
    // The first answer wins; an unknown id is not_found.
    expect(await d.request({ op: 'result', command: before.id, status: 'failed' })).toMatchObject({ op: 'error', code: 'command_ended' });
    expect(await d.request({ op: 'result', command: 'nope123', status: 'failed' })).toMatchObject({ op: 'error', code: 'not_found' });
    expect(await d.request({ op: 'result', command: added.id, status: 'done' })).toMatchObject({ op: 'error', code: 'invalid_request' });
  });

  it('an app session may not answer commands', async () => {
    await twinWithToken(t, 'w-2');
    const cmd = await queue(t, 'w-2', { name: 'reboot', ttlSeconds: 600 });
    const app = await open('test-admin-token-0123456789abcdef');
    expect(await app.request({ op: 'result', command: cmd.id, status: 'succeeded' })).toMatchObject({ op: 'error', code: 'forbidden' });
    expect(await expectJson(await t.call('GET', `/v1/twins/w-2/commands/${cmd.id}`), 200)).toMatchObject({ status: 'queued' });
  });

  it('a direct command reaches the live session and the HTTP request returns its answer', async () => {
    const d = await open(await twinWithToken(t, 'w-3'));
    d.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Msg;
      if (m.op === 'command') {
        const { id, payload } = m.command as { id: string; payload: { x: number } };
        d.send({ op: 'result', ref: 'a', command: id, status: 'succeeded', result: { doubled: payload.x * 2 } });
      }
    });
    await d.next((m) => m.op === 'delta'); // the session is a command sink before its delta is sent
    const res = await t.call('POST', '/v1/twins/w-3/commands', { body: { name: 'double', payload: { x: 21 }, timeoutMs: 30_000 } });
    expect(await expectJson<CommandJson>(res, 200)).toMatchObject({ name: 'double', status: 'succeeded', result: { doubled: 42 } });
  });

  it('a direct command nobody answers is 504 command_timeout and ends expired', async () => {
    const d = await open(await twinWithToken(t, 'w-4'));
    await d.next((m) => m.op === 'delta'); // the session is a command sink before its delta is sent
    const problem = await expectProblem(await t.call('POST', '/v1/twins/w-4/commands', { body: { name: 'slow', timeoutMs: 1000 } }), 504, 'command_timeout');
    const cid = (problem.details as { command: string }).command;
    expect(await expectJson(await t.call('GET', `/v1/twins/w-4/commands/${cid}`), 200)).toMatchObject({ status: 'expired' });
    expect(await d.request({ op: 'result', command: cid, status: 'succeeded' })).toMatchObject({ op: 'error', code: 'command_ended' });
  });

  it('after the session closes, a direct command is device_offline', async () => {
    const d = await open(await twinWithToken(t, 'w-5'));
    await d.next((m) => m.op === 'delta');
    d.close();
    await d.closed;
    // The server sees the close a moment later: poll until it does.
    for (let i = 0; ; i++) {
      const res = await t.call('POST', '/v1/twins/w-5/commands', { body: { name: 'ping', timeoutMs: 1000 } });
      if (res.status === 409) { await expectProblem(res, 409, 'device_offline'); break; }
      await res.body?.cancel();
      expect(i).toBeLessThan(50);
    }
  });
});
