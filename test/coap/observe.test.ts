import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { COAP_CLIENT, createTwin, eventually, json, metric, option, RawClient, readUint, startCoapServer } from './helpers.ts';

let t: TestServer & { port: number };
const clients: RawClient[] = [];
const client = async () => { const c = await RawClient.open(t.port); clients.push(c); return c; };

beforeAll(async () => {
  t = await startCoapServer(['--coap-confirm-every', '3', '--coap-ack-timeout-ms', '40', '--coap-max-retransmit', '1', '--liveness-seconds', '1']);
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await t?.stop();
});

const observers = () => metric(t, 'doppel_coap_observations');
const setDesired = async (id: string, desired: unknown) => {
  const res = await t.call('PATCH', `/v1/twins/${id}`, { body: { desired } });
  expect(res.status).toBe(200);
};
const notification = (c: RawClient, token: Buffer) => c.next((p) => p.token.equals(token) && option(p, 'Observe') !== undefined, 5000, 'notification');

describe('CoAP Observe (RFC 7641)', () => {
  it('notifies every change of desired, in order, with increasing sequence numbers', async () => {
    const token = await createTwin(t, 'obs-1', { n: 0 });
    const c = await client();
    const tok = Buffer.from('aa01', 'hex');
    const first = await c.request({ path: '/t/obs-1/desired', query: [`token=${token}`], observe: 0, token: tok });
    expect(first.code).toBe('2.05');
    expect(json(first)).toEqual({ n: 0 });
    let seq = readUint(option(first, 'Observe'))!;
    for (let i = 1; i <= 9; i++) await setDesired('obs-1', { n: i });
    const seen: unknown[] = [];
    const confirmable: boolean[] = [];
    let lastMid = -1;
    for (let i = 1; i <= 9; i++) {
      const n = await notification(c, tok);
      // With a 40 ms ACK timeout a busy machine sees retransmissions (same message id): ack again, skip.
      if (n.messageId === lastMid) { c.ack(n); i--; continue; }
      lastMid = n.messageId;
      const s = readUint(option(n, 'Observe'))!;
      expect(s).toBeGreaterThan(seq);
      seq = s;
      seen.push(json(n));
      confirmable.push(n.confirmable);
      if (n.confirmable) c.ack(n);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({ n })));
    // --coap-confirm-every 3: at least every third notification is confirmable.
    expect(confirmable).toEqual([false, false, true, false, false, true, false, false, true]);
    // The device holds an observation: online via coap.
    const twin = (await (await t.call('GET', '/v1/twins/obs-1')).json()) as { connection: { online: boolean; via: string } };
    expect(twin.connection).toMatchObject({ online: true, via: 'coap' });
  });

  it('notifies delta only when the delta changed and desired only when desired changed', async () => {
    const token = await createTwin(t, 'obs-2', { temp: 21 });
    const c = await client();
    const d = Buffer.from('bb01', 'hex');
    const r = Buffer.from('bb02', 'hex');
    expect(json(await c.request({ path: '/t/obs-2/delta', query: [`token=${token}`], observe: 0, token: d }))).toEqual({ temp: 21 });
    expect(json(await c.request({ path: '/t/obs-2/desired', query: [`token=${token}`], observe: 0, token: r }))).toEqual({ temp: 21 });
    // reported changes without changing the delta: no notification; then one that empties it.
    await c.request({ method: 'PUT', path: '/t/obs-2/reported', query: [`token=${token}`], payload: '{"fw":"1"}' });
    await c.request({ method: 'PUT', path: '/t/obs-2/reported', query: [`token=${token}`], payload: '{"temp":21}' });
    expect(json(await notification(c, d))).toEqual({});
    await setDesired('obs-2', { temp: 22 });
    expect(json(await notification(c, r))).toEqual({ temp: 22 });
    expect(json(await notification(c, d))).toEqual({ temp: 22 });
    // Neither observer saw the reported-only changes.
    expect(c.received.filter((p) => option(p, 'Observe') !== undefined)).toEqual([]);
  });

  it('ends a relation on RST, on Observe=1, and on an unacknowledged confirmable notification', async () => {
    const token = await createTwin(t, 'obs-3', { n: 0 });
    const before = await observers();
    const a = await client();
    const b = await client();
    const c = await client();
    const ta = Buffer.from('cc01', 'hex');
    const tb = Buffer.from('cc02', 'hex');
    const tc = Buffer.from('cc03', 'hex');
    for (const [cl, tok, part] of [[a, ta, 'desired'], [b, tb, 'delta'], [c, tc, 'desired']] as const) {
      expect((await cl.request({ path: `/t/obs-3/${part}`, query: [`token=${token}`], observe: 0, token: tok })).code).toBe('2.05');
    }
    await eventually(async () => (await observers()) === before + 3, '3 observers');
    // b deregisters with Observe=1 (RFC 7641 §3.6): a plain answer, and the relation is gone.
    const cancel = await b.request({ path: '/t/obs-3/delta', query: [`token=${token}`], observe: 1, token: tb });
    expect(cancel.code).toBe('2.05');
    expect(option(cancel, 'Observe')).toBeUndefined();
    await eventually(async () => (await observers()) === before + 2, 'b deregistered');
    // a answers the next notification with RST; c never acknowledges, and its third is confirmable.
    await setDesired('obs-3', { n: 1 });
    a.reset(await notification(a, ta));
    await eventually(async () => (await observers()) === before + 1, 'a reset');
    await setDesired('obs-3', { n: 2 });
    await setDesired('obs-3', { n: 3 });
    for (let i = 0; i < 3; i++) await notification(c, tc);
    await eventually(async () => (await observers()) === before, 'c timed out', 10_000);
    expect(a.received.filter((p) => option(p, 'Observe') !== undefined)).toEqual([]);
    // Detached: once the liveness window (1 s here) passes, the device is offline.
    await eventually(async () => {
      const twin = (await (await t.call('GET', '/v1/twins/obs-3')).json()) as { connection: { online: boolean } };
      return !twin.connection.online;
    }, 'offline', 5000);
  });

  it('replaces the relation when the same device and token re-register from a new port (NAT rebinding)', async () => {
    const token = await createTwin(t, 'obs-4', { n: 0 });
    const before = await observers();
    const oldPort = await client();
    const newPort = await client();
    const tok = Buffer.from('dd01', 'hex');
    await oldPort.request({ path: '/t/obs-4/desired', query: [`token=${token}`], observe: 0, token: tok });
    await newPort.request({ path: '/t/obs-4/desired', query: [`token=${token}`], observe: 0, token: tok });
    expect(await observers()).toBe(before + 1);
    await setDesired('obs-4', { n: 1 });
    expect(json(await notification(newPort, tok))).toEqual({ n: 1 });
    expect(oldPort.received.filter((p) => option(p, 'Observe') !== undefined)).toEqual([]);
  });

  it('serves libcoap coap-client -s 5 with a change made over HTTP', async () => {
    const token = await createTwin(t, 'obs-5', { mode: 'eco' });
    const before = await observers();
    const child = spawn(COAP_CLIENT, ['-s', '5', '-B', '6', '-m', 'get', `coap://127.0.0.1:${t.port}/t/obs-5/desired?token=${token}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(async () => (await observers()) === before + 1, 'libcoap observing');
      await setDesired('obs-5', { mode: 'boost' });
      await eventually(() => out.includes('boost'), 'the notification printed', 5000);
    } finally {
      child.kill();
      await exited;
    }
    expect(out).toContain('{"mode":"eco"}');
    expect(out).toContain('{"mode":"boost"}');
  });
});
