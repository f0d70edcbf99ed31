/**
 * Observe rules that need their own server flags: the T-seconds confirmable rule
 * (`--coap-confirm-seconds`, RFC 7641 §4.5) and the observer cap (`--coap-max-observers`,
 * RFC 7641 §4.1: a registration beyond it is answered as a plain GET).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ParsedPacket } from 'coap-packet';
import { startTestServer, tempDir } from '../support/server.ts';
import type { TestServer } from '../support/server.ts';
import { createTwin, eventually, json, metric, option, RawClient, startCoapServer, uint } from './helpers.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(flags: string[]): Promise<TestServer & { port: number }> {
  const t = await startCoapServer(flags);
  cleanups.push(() => t.stop());
  return t;
}
async function client(t: TestServer & { port: number }): Promise<RawClient> {
  const c = await RawClient.open(t.port);
  cleanups.push(() => c.close());
  return c;
}
const setDesired = async (t: TestServer, id: string, desired: unknown) => {
  const res = await t.call('PATCH', `/v1/twins/${id}`, { body: { desired } });
  expect(res.status).toBe(200);
};
const isNotification = (tok: Buffer) => (p: ParsedPacket) => p.token.equals(tok) && option(p, 'Observe') !== undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('CoAP Observe: confirmable at least every --coap-confirm-seconds (RFC 7641 §4.5)', () => {
  it('sends NON for quick changes and a CON once a second has passed since the last CON', async () => {
    const t = await server(['--coap-confirm-every', '1000', '--coap-confirm-seconds', '1']);
    const token = await createTwin(t, 'conf-1', { n: 0 });
    const c = await client(t);
    const tok = Buffer.from('ee01', 'hex');
    // The server starts the clock at registration, which is after `registered` (client time).
    const registered = Date.now();
    const first = await c.request({ path: '/t/conf-1/desired', query: [`token=${token}`], observe: 0, token: tok });
    expect(first.code).toBe('2.05');
    expect(option(first, 'Observe')).toBeDefined();

    const types: Array<{ n: unknown; con: boolean }> = [];
    const receive = async () => {
      const p = await c.next(isNotification(tok), 5000, 'notification');
      if (p.confirmable) c.ack(p);
      types.push({ n: (json(p) as { n: unknown }).n, con: p.confirmable });
    };

    // Two quick changes, within the first second after registration: NON.
    await setDesired(t, 'conf-1', { n: 1 });
    await setDesired(t, 'conf-1', { n: 2 });
    const quick = Date.now() - registered;
    await receive();
    await receive();
    // A precondition, not the rule: the changes really were quick (else the test proves nothing).
    expect(quick).toBeLessThan(1000);
    expect(types).toEqual([{ n: 1, con: false }, { n: 2, con: false }]);

    // More than a second later: the next one is confirmable; the one right after it is NON again
    // (the clock restarts at the last CON; the count rule, every 1000th, is far away).
    await sleep(1150);
    await setDesired(t, 'conf-1', { n: 3 });
    await receive();
    const afterCon = Date.now();
    await setDesired(t, 'conf-1', { n: 4 });
    const quick2 = Date.now() - afterCon;
    await receive();
    expect(quick2).toBeLessThan(1000);
    expect(types.slice(2)).toEqual([{ n: 3, con: true }, { n: 4, con: false }]);

    // And again after another second: CON. The ACKs kept the relation alive throughout.
    await sleep(1150);
    await setDesired(t, 'conf-1', { n: 5 });
    await receive();
    expect(types.slice(4)).toEqual([{ n: 5, con: true }]);
    expect(await metric(t, 'doppel_coap_observations')).toBe(1);
  });
});

describe('CoAP Observe: --coap-max-observers (RFC 7641 §4.1)', () => {
  it('answers a registration beyond the cap as a plain GET and accepts again once one ends', async () => {
    const t = await server(['--coap-max-observers', '2']);
    const token = await createTwin(t, 'cap-1', { n: 0 });
    const observers = () => metric(t, 'doppel_coap_observations');
    const [a, b, c] = [await client(t), await client(t), await client(t)];
    const [ta, tb, tc] = ['f001', 'f002', 'f003'].map((h) => Buffer.from(h, 'hex')) as [Buffer, Buffer, Buffer];
    const register = (cl: RawClient, tok: Buffer) => cl.request({ path: '/t/cap-1/desired', query: [`token=${token}`], observe: 0, token: tok });

    const ra = await register(a, ta);
    const rb = await register(b, tb);
    expect(option(ra, 'Observe')).toBeDefined();
    expect(option(rb, 'Observe')).toBeDefined();
    expect(await observers()).toBe(2);

    // The third: answered (2.05, the current desired) but without an Observe option, so not held.
    const rc = await register(c, tc);
    expect(rc.code).toBe('2.05');
    expect(json(rc)).toEqual({ n: 0 });
    expect(option(rc, 'Observe')).toBeUndefined();
    expect(await observers()).toBe(2);

    // A change reaches a and b; c gets nothing (notifications to all relations go out together,
    // so once a and b have theirs, c's would have been sent too; a short grace for the socket).
    await setDesired(t, 'cap-1', { n: 1 });
    expect(json(await a.next(isNotification(ta), 5000, 'a notified'))).toEqual({ n: 1 });
    expect(json(await b.next(isNotification(tb), 5000, 'b notified'))).toEqual({ n: 1 });
    await sleep(200);
    expect(c.received.filter((p) => p.token.equals(tc))).toEqual([]);

    // a deregisters (Observe=1): there is room again, and c's new registration is accepted.
    const cancel = await a.request({ path: '/t/cap-1/desired', query: [`token=${token}`], observe: 1, token: ta });
    expect(option(cancel, 'Observe')).toBeUndefined();
    await eventually(async () => (await observers()) === 1, 'a deregistered');
    const again = await register(c, tc);
    expect(again.code).toBe('2.05');
    expect(option(again, 'Observe')).toBeDefined();
    expect(await observers()).toBe(2);

    await setDesired(t, 'cap-1', { n: 2 });
    expect(json(await c.next(isNotification(tc), 5000, 'c notified'))).toEqual({ n: 2 });
    expect(json(await b.next(isNotification(tb), 5000, 'b notified'))).toEqual({ n: 2 });
    await sleep(200);
    expect(a.received.filter((p) => option(p, 'Observe') !== undefined)).toEqual([]);
  });
});

describe('CoAP Observe: --coap-max-observers under concurrent registrations', () => {
  it('never holds more relations than the cap when registrations arrive together', async () => {
    // The twin is not resident after a restart, so each registration awaits a LevelDB read and
    // the six overlap.
    const dir = await tempDir();
    cleanups.push(() => dir.remove());
    const at = async (flags: string[]) => { const s = await startTestServer(flags, { dataDir: dir.path }); return Object.assign(s, { port: s.server.coapPort }); };
    const first = await at(['--coap-max-observers', '2']);
    const token = await createTwin(first, 'cap-2', { n: 0 });
    await first.stop();
    const t = await at(['--coap-max-observers', '2']);
    cleanups.push(() => t.stop());
    const cs = await Promise.all(Array.from({ length: 6 }, () => client(t)));
    const replies = await Promise.all(cs.map((c, i) =>
      c.request({ path: i % 2 === 0 ? '/t/cap-2/desired' : '/t/cap-2/delta', query: [`token=${token}`], observe: 0, token: Buffer.from([0xf2, i]) })));
    expect(replies.map((r) => r.code)).toEqual(Array(6).fill('2.05'));
    expect(replies.filter((r) => option(r, 'Observe') !== undefined)).toHaveLength(2);
    expect(await metric(t, 'doppel_coap_observations')).toBe(2);
  });
});

describe('CoAP Observe: resources that are not observable', () => {
  it('answers GET /t/{id} with Observe: 0 as a plain GET (no Observe option, no relation)', async () => {
    const t = await server([]);
    const token = await createTwin(t, 'plain-1', { n: 0 });
    const c = await client(t);
    const tok = Buffer.from('f101', 'hex');
    const res = await c.request({ path: '/t/plain-1', query: [`token=${token}`], observe: 0, token: tok });
    expect(res.code).toBe('2.05');
    expect(json(res)).toMatchObject({ version: 1, desired: { n: 0 } });
    expect(option(res, 'Observe')).toBeUndefined();
    expect(await metric(t, 'doppel_coap_observations')).toBe(0);
    await setDesired(t, 'plain-1', { n: 1 });
    await sleep(200);
    expect(c.received.filter((p) => p.token.equals(tok))).toEqual([]);
  });
  it('answers a big GET /t/{id} with Observe: 0 block-wise, without an Observe option', async () => {
    const t = await server([]);
    const big = 'x'.repeat(3000);
    const token = await createTwin(t, 'plain-2', { big });
    const c = await client(t);
    const res = await c.request({ path: '/t/plain-2', query: [`token=${token}`], observe: 0 });
    expect(res.code).toBe('2.05');
    expect(option(res, 'Observe')).toBeUndefined();
    const block2 = option(res, 'Block2');
    expect(block2).toBeDefined();
    expect(block2![block2!.length - 1]! & 0x08).toBe(0x08); // more blocks follow
    let body = res.payload;
    for (let num = 1; num < 10; num++) {
      const next = await c.request({ path: '/t/plain-2', query: [`token=${token}`], block2: uint(num * 16 + 6) });
      expect(next.code).toBe('2.05');
      body = Buffer.concat([body, next.payload]);
      const b = option(next, 'Block2')!;
      if ((b[b.length - 1]! & 0x08) === 0) break;
    }
    expect(JSON.parse(body.toString('utf8'))).toMatchObject({ desired: { big } });
    expect(await metric(t, 'doppel_coap_observations')).toBe(0);
  });
});
