/**
 * The fallback engine (`--coap-engine node-coap`) behind the same transport seam: the paths a
 * device uses (libcoap GET/PUT, a duplicate, Observe, Block2) still work on it, so an operator who
 * switches back for an interop problem gets a working server. The full CoAP suite runs on the
 * default (lean) engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { buildRequest, createTwin, json, libcoap, option, RawClient, readUint, startCoapServer } from './helpers.ts';

let t: TestServer & { port: number };
let c: RawClient;
let token: string;

beforeAll(async () => {
  t = await startCoapServer(['--coap-engine', 'node-coap']);
  c = await RawClient.open(t.port);
  token = await createTwin(t, 'fb-1', { temp: 21, blob: 'x'.repeat(1500) });
});
afterAll(async () => {
  await c?.close();
  await t?.stop();
});

const uri = (path: string) => `coap://127.0.0.1:${t.port}${path}?token=${token}`;

describe('CoAP on the node-coap engine (--coap-engine node-coap)', () => {
  it('serves libcoap: PUT reported (block-wise up), then GET the device view (block-wise down)', async () => {
    const put = await libcoap(['-B', '5', '-m', 'put', '-t', '50', '-e', JSON.stringify({ temp: 20, blob: 'x'.repeat(1500) }), uri('/t/fb-1/reported')]);
    expect(JSON.parse(put.stdout)).toEqual({ version: 2, delta: { temp: 21 } });
    const get = await libcoap(['-B', '10', '-m', 'get', '-b', '256', uri('/t/fb-1')]);
    expect(JSON.parse(get.stdout)).toMatchObject({ version: 2, reported: { temp: 20 }, desired: { blob: 'x'.repeat(1500) } });
  });

  it('answers a retransmitted PUT with the same reply and applies it once', async () => {
    const { packet, datagram } = buildRequest({ method: 'PUT', path: '/t/fb-1/reported', query: [`token=${token}`], payload: '{"n":1}' });
    c.sendRaw(datagram);
    const first = await c.next((p) => p.token.equals(packet.token!), 5000, 'first reply');
    c.sendRaw(datagram);
    const again = await c.next((p) => p.token.equals(packet.token!), 5000, 'reply to the retransmission');
    expect(first.code).toBe('2.04');
    expect(again.payload).toEqual(first.payload);
    expect(((await (await t.call('GET', '/v1/twins/fb-1')).json()) as { version: number }).version).toBe(3);
  });

  it('registers an observation and notifies a desired change', async () => {
    const tok = Buffer.from('fb-obs01');
    const first = await c.request({ path: '/t/fb-1/delta', query: [`token=${token}`], observe: 0, token: tok });
    expect(first.code).toBe('2.05');
    const seq = readUint(option(first, 'Observe'));
    expect(seq).toBeDefined();
    expect((await t.call('PATCH', '/v1/twins/fb-1', { body: { desired: { temp: 18 } } })).status).toBe(200);
    const note = await c.next((p) => p.token.equals(tok) && option(p, 'Observe') !== undefined, 5000, 'notification');
    if (note.confirmable) c.ack(note);
    expect(readUint(option(note, 'Observe'))).toBeGreaterThan(seq!);
    expect(json(note)).toMatchObject({ temp: 18 });
  });
});
