/**
 * Message-layer reliability (RFC 7252 §4): duplicates answered once, non-confirmable requests,
 * malformed datagrams never crash or stall the server, rate limits with Max-Age.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { buildRequest, createTwin, json, option, RawClient, readUint, startCoapServer, uint } from './helpers.ts';

let t: TestServer & { port: number };
let client: RawClient;
let token: string;

beforeAll(async () => {
  t = await startCoapServer();
  client = await RawClient.open(t.port);
  token = await createTwin(t, 'rel-1', { temp: 21 });
});
afterAll(async () => {
  await client?.close();
  await t?.stop();
});

const version = async () => ((await (await t.call('GET', '/v1/twins/rel-1')).json()) as { version: number }).version;

describe('CoAP duplicates (RFC 7252 §4.5)', () => {
  it('applies a retransmitted PUT once: the duplicate is answered from the exchange cache', async () => {
    const v = await version();
    // If-Match makes a second application visible: it would be refused with 4.12.
    const { packet, datagram } = buildRequest({ method: 'PUT', path: '/t/rel-1/reported', query: [`token=${token}`], ifMatch: uint(v), payload: '{"temp":20}' });
    client.sendRaw(datagram);
    client.sendRaw(datagram); // while the first is still being handled
    const first = await client.next((p) => p.token.equals(packet.token!), 5000, 'first reply');
    client.sendRaw(datagram); // after the reply: from node-coap's cache
    const again = await client.next((p) => p.token.equals(packet.token!), 5000, 'cached reply');
    expect(first.code).toBe('2.04');
    expect(again.code).toBe('2.04');
    expect(again.messageId).toBe(first.messageId);
    expect(again.payload).toEqual(first.payload);
    expect(json(first)).toEqual({ version: v + 1, delta: { temp: 21 } });
    expect(await version()).toBe(v + 1);
    expect(client.received.filter((p) => p.token.equals(packet.token!))).toEqual([]);
  });
});

describe('CoAP non-confirmable requests', () => {
  it('answers a NON PUT with a NON 2.04', async () => {
    const res = await client.request({ method: 'PUT', path: '/t/rel-1/reported', query: [`token=${token}`], payload: '{"temp":21}', confirmable: false });
    expect(res).toMatchObject({ code: '2.04', confirmable: false, ack: false });
    expect(json(res)).toMatchObject({ delta: {} });
  });
});

describe('CoAP malformed datagrams', () => {
  it('answers CoAP ping (empty CON) and a malformed CON with RST', async () => {
    client.sendRaw(Buffer.from([0x40, 0x00, 0x12, 0x34]));
    const pong = await client.next((p) => p.reset && p.messageId === 0x1234, 5000, 'RST to ping');
    expect(pong.code).toBe('0.00');
    // A CON GET whose option runs past the end of the datagram.
    client.sendRaw(Buffer.from([0x40, 0x01, 0x43, 0x21, 0xbd, 0x05]));
    await client.next((p) => p.reset && p.messageId === 0x4321, 5000, 'RST to a malformed CON');
  });

  it('survives 2000 random datagrams and keeps answering', async () => {
    const garbage = await RawClient.open(t.port);
    try {
      for (let i = 0; i < 2000; i++) {
        const bytes = randomBytes(i % 64);
        // Half of them look like CoAP v1 headers, to reach the option and payload parsers.
        if (i % 2 === 0 && bytes.length > 0) bytes[0] = 0x40 | (bytes[0]! & 0x3f);
        garbage.sendRaw(bytes);
        if (i % 200 === 0) await new Promise((r) => setImmediate(r));
      }
      const res = await client.request({ path: '/t/rel-1', query: [`token=${token}`] }, 10_000);
      expect(res.code).toBe('2.05');
    } finally {
      await garbage.close();
    }
  });
});

describe('CoAP rate limits', () => {
  it('refuses a device over its rate with 4.29 and Max-Age', async () => {
    const limited = await startCoapServer(['--device-rate', '1', '--device-burst', '1']);
    const c = await RawClient.open(limited.port);
    try {
      const tok = await createTwin(limited, 'rate-1');
      expect((await c.request({ path: '/t/rate-1', query: [`token=${tok}`] })).code).toBe('2.05');
      const refused = await c.request({ path: '/t/rate-1', query: [`token=${tok}`] });
      expect(refused.code).toBe('4.29');
      expect(readUint(option(refused, 'Max-Age'))).toBeGreaterThanOrEqual(1);
      expect(refused.payload.toString()).toMatch(/^rate_limited: /);
    } finally {
      await c.close();
      await limited.stop();
    }
  });
});
