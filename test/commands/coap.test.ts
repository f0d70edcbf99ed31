/**
 * Commands over CoAP with real UDP: the open commands on GET /t/{id}/commands (now delivered),
 * an observation notified when one is added (the device's live session: a direct command reaches
 * it), answers with POST /t/{id}/commands/{cid} (2.04, 4.09 command_ended), and the 2.04 of a
 * reported PUT carrying the open commands. Plus libcoap's coap-client-notls as the device.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { expectJson } from '../http/helpers.ts';
import { COAP_CLIENT, createTwin, eventually, json, libcoap, option, RawClient, startCoapServer } from '../coap/helpers.ts';
import { queue } from './helpers.ts';
import type { CommandJson } from './helpers.ts';

let t: TestServer & { port: number };
const clients: RawClient[] = [];
const client = async () => { const c = await RawClient.open(t.port); clients.push(c); return c; };

beforeAll(async () => { t = await startCoapServer(); });
afterAll(async () => {
  for (const c of clients) await c.close();
  await t?.stop();
});

const status = async (twin: string, cid: string) => (await expectJson<CommandJson>(await t.call('GET', `/v1/twins/${twin}/commands/${cid}`), 200)).status;

describe('commands over CoAP', () => {
  it('GET lists the open commands (delivering them); POST answers; a second answer is 4.09', async () => {
    const token = await createTwin(t, 'cc-1');
    const cmd = await queue(t, 'cc-1', { name: 'reboot', payload: { delay: 2 }, ttlSeconds: 600 });
    const c = await client();
    const list = await c.request({ path: '/t/cc-1/commands', query: [`token=${token}`] });
    expect(list.code).toBe('2.05');
    expect(json(list)).toEqual([{ id: cmd.id, name: 'reboot', payload: { delay: 2 } }]);
    expect(await status('cc-1', cmd.id)).toBe('delivered');
    const answer = () => c.request({ method: 'POST', path: `/t/cc-1/commands/${cmd.id}`, query: [`token=${token}`], format: 50, payload: JSON.stringify({ status: 'succeeded', result: { ok: true } }) });
    expect((await answer()).code).toBe('2.04');
    expect(await expectJson(await t.call('GET', `/v1/twins/cc-1/commands/${cmd.id}`), 200)).toMatchObject({ status: 'succeeded', result: { ok: true } });
    const again = await answer();
    expect(again.code).toBe('4.09');
    expect(again.payload.toString()).toMatch(/^command_ended: /);
    expect(json(await c.request({ path: '/t/cc-1/commands', query: [`token=${token}`] }))).toEqual([]);
    expect((await c.request({ method: 'POST', path: '/t/cc-1/commands/abc123', query: [`token=${token}`], format: 50, payload: '{"status":"failed"}' })).code).toBe('4.04');
    expect((await c.request({ method: 'POST', path: `/t/cc-1/commands/${cmd.id}`, query: [`token=${token}`], format: 50, payload: '{"status":"done"}' })).code).toBe('4.00');
  });

  it('holds at most --coap-max-observers-per-twin command observations on a twin; past it, registrations are plain GETs', async () => {
    // RFC 7641 §4.1: a server unable to add an observer answers the registration without Observe.
    const capped = await startCoapServer(['--coap-max-observers-per-twin', '2']);
    const raw = await RawClient.open(capped.port);
    try {
      const token = await createTwin(capped, 'cc-cap');
      const register = (n: number) => raw.request({ path: '/t/cc-cap/commands', query: [`token=${token}`], observe: 0, token: Buffer.from([0xca, n]) });
      const answers = [await register(1), await register(2), await register(3)];
      expect(answers.map((a) => a.code)).toEqual(['2.05', '2.05', '2.05']);
      expect(answers.map((a) => option(a, 'Observe') !== undefined)).toEqual([true, true, false]);
      // Ending one frees its room: deregistration (Observe: 1) of the first, then a new one is observed.
      await raw.request({ path: '/t/cc-cap/commands', query: [`token=${token}`], observe: 1, token: Buffer.from([0xca, 1]) });
      expect(option(await register(4), 'Observe')).toBeDefined();
    } finally {
      await raw.close();
      await capped.stop();
    }
  });

  it('an observation of the commands ends with 4.04 when the twin is deleted', async () => {
    const token = await createTwin(t, 'cc-8');
    const c = await client();
    const tok = Buffer.from('cc08', 'hex');
    expect((await c.request({ path: '/t/cc-8/commands', query: [`token=${token}`], observe: 0, token: tok })).code).toBe('2.05');
    expect((await t.call('DELETE', '/v1/twins/cc-8')).status).toBe(204);
    const last = await c.next((p) => p.token.equals(tok) && p.code === '4.04', 10_000, 'the final 4.04');
    if (last.confirmable) c.ack(last);
    expect(last.payload.toString()).toMatch(/^not_found: /);
  });

  it('a key reads the open commands without delivering them, and is no live session', async () => {
    await createTwin(t, 'cc-6');
    const reader = await (await t.call('POST', '/v1/keys', { body: { scopes: ['twins:read'] } })).json() as { token: string };
    const cmd = await queue(t, 'cc-6', { name: 'reboot', ttlSeconds: 600 });
    const c = await client();
    const seen = await c.request({ path: '/t/cc-6/commands', query: [`token=${reader.token}`], observe: 0 });
    expect(seen.code).toBe('2.05');
    expect(option(seen, 'Observe')).toBeUndefined();
    expect(json(seen)).toEqual([{ id: cmd.id, name: 'reboot', payload: null }]);
    expect(await status('cc-6', cmd.id)).toBe('queued');
    expect((await t.call('POST', '/v1/twins/cc-6/commands', { body: { name: 'ping', timeoutMs: 1000 } })).status).toBe(409);
  });

  it('another device\'s token is 4.03, and nothing is delivered', async () => {
    await createTwin(t, 'cc-2');
    const other = await createTwin(t, 'cc-2b');
    const cmd = await queue(t, 'cc-2', { name: 'reboot', ttlSeconds: 600 });
    const c = await client();
    expect((await c.request({ path: '/t/cc-2/commands', query: [`token=${other}`] })).code).toBe('4.03');
    expect((await c.request({ method: 'POST', path: `/t/cc-2/commands/${cmd.id}`, query: [`token=${other}`], format: 50, payload: '{"status":"failed"}' })).code).toBe('4.03');
    expect(await status('cc-2', cmd.id)).toBe('queued');
  });

  it('the 2.04 of a reported PUT carries the open commands when there are any', async () => {
    const token = await createTwin(t, 'cc-3');
    const c = await client();
    const put = () => c.request({ method: 'PUT', path: '/t/cc-3/reported', query: [`token=${token}`], format: 50, payload: '{"t":1}' });
    expect(json(await put())).not.toHaveProperty('commands');
    const cmd = await queue(t, 'cc-3', { name: 'calibrate', payload: 7, ttlSeconds: 600 });
    expect(json(await put())).toMatchObject({ commands: [{ id: cmd.id, name: 'calibrate', payload: 7 }] });
    expect(await status('cc-3', cmd.id)).toBe('delivered');
    await t.call('DELETE', `/v1/twins/cc-3/commands/${cmd.id}`);
    expect(json(await put())).not.toHaveProperty('commands');
  });

  it('an observation is notified when a command is added, and takes direct commands', async () => {
    const token = await createTwin(t, 'cc-4');
    const c = await client();
    const tok = Buffer.from('cc04', 'hex');
    const first = await c.request({ path: '/t/cc-4/commands', query: [`token=${token}`], observe: 0, token: tok });
    expect(first.code).toBe('2.05');
    expect(option(first, 'Observe')).toBeDefined();
    expect(json(first)).toEqual([]);
    const cmd = await queue(t, 'cc-4', { name: 'reboot', ttlSeconds: 600 });
    const n = await c.next((p) => p.token.equals(tok) && p.code === '2.05', 10_000, 'notification');
    if (n.confirmable) c.ack(n);
    expect(json(n)).toEqual([{ id: cmd.id, name: 'reboot', payload: null }]);
    expect((await c.request({ method: 'POST', path: `/t/cc-4/commands/${cmd.id}`, query: [`token=${token}`], format: 50, payload: '{"status":"succeeded"}' })).code).toBe('2.04');

    // A direct command: the device answers the notification carrying it; the HTTP request gets the answer.
    const direct = t.call('POST', '/v1/twins/cc-4/commands', { body: { name: 'blink', payload: { times: 3 }, timeoutMs: 30_000 } });
    const pushed = await c.next((p) => p.token.equals(tok) && p.code === '2.05', 10_000, 'notification');
    if (pushed.confirmable) c.ack(pushed);
    const [order] = json(pushed) as Array<{ id: string; name: string }>;
    expect(order).toMatchObject({ name: 'blink', payload: { times: 3 } });
    await c.request({ method: 'POST', path: `/t/cc-4/commands/${order!.id}`, query: [`token=${token}`], format: 50, payload: '{"status":"succeeded","result":"blinked"}' });
    expect(await expectJson(await direct, 200)).toMatchObject({ status: 'succeeded', result: 'blinked' });
  });

  it('libcoap\'s coap-client-notls lists and answers a command', async () => {
    const token = await createTwin(t, 'cc-5');
    const cmd = await queue(t, 'cc-5', { name: 'selftest', ttlSeconds: 600 });
    const base = `coap://127.0.0.1:${t.port}/t/cc-5/commands`;
    const listed = await libcoap(['-m', 'get', `${base}?token=${token}`]);
    expect(JSON.parse(listed.stdout.trim())).toEqual([{ id: cmd.id, name: 'selftest', payload: null }]);
    await libcoap(['-m', 'post', '-t', '50', '-e', '{"status":"failed","result":{"code":3}}', `${base}/${cmd.id}?token=${token}`]);
    expect(await expectJson(await t.call('GET', `/v1/twins/cc-5/commands/${cmd.id}`), 200)).toMatchObject({ status: 'failed', result: { code: 3 } });
  });

  it('libcoap\'s coap-client-notls observes the commands (a live session) and answers a direct command', async () => {
    const token = await createTwin(t, 'cc-7');
    const base = `coap://127.0.0.1:${t.port}/t/cc-7/commands`;
    const child = spawn(COAP_CLIENT, ['-s', '20', '-B', '21', '-m', 'get', `${base}?token=${token}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(() => out.includes('[]'), 'the observation answered');
      const direct = t.call('POST', '/v1/twins/cc-7/commands', { body: { name: 'blink', timeoutMs: 30_000 } });
      await eventually(() => out.includes('"blink"'), 'the notification printed', 10_000);
      const id = /"id":"([0-9a-z]+)"/.exec(out)![1]!;
      await libcoap(['-m', 'post', '-t', '50', '-e', '{"status":"succeeded","result":"ok"}', `${base}/${id}?token=${token}`]);
      expect(await expectJson(await direct, 200)).toMatchObject({ id, status: 'succeeded', result: 'ok' });
    } finally {
      child.kill();
      await exited;
    }
  });
});
