/**
 * Duplicate detection over time (RFC 7252 §4.5): a retransmitted confirmable PUT arriving after
 * other traffic, still well within EXCHANGE_LIFETIME (247 s), must not be applied twice. The lean
 * engine remembers each endpoint's newest 256 exchanges (`exchange-cache.ts`), so other devices'
 * traffic cannot push a device's replies out; past its own 256 newer requests a retransmission is
 * handled again, and If-Match makes that second application visible (refused with 4.12).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParsedPacket } from 'coap-packet';
import type { TestServer } from '../support/server.ts';
import { buildRequest, createTwin, json, RawClient, startCoapServer, uint } from './helpers.ts';

let t: TestServer & { port: number };
let device: RawClient;
let others: RawClient;
let token: string;
let noiseToken: string;

beforeAll(async () => {
  // The default --coap-cache-size; device rate limits out of the way of the intervening traffic.
  t = await startCoapServer(['--device-rate', '100000', '--device-burst', '100000']);
  device = await RawClient.open(t.port);
  others = await RawClient.open(t.port);
  token = await createTwin(t, 'dup-1', { temp: 21 });
  noiseToken = await createTwin(t, 'dup-noise', { temp: 21 });
});
afterAll(async () => {
  await device?.close();
  await others?.close();
  await t?.stop();
});

const version = async (id: string) => ((await (await t.call('GET', `/v1/twins/${id}`)).json()) as { version: number }).version;

/** `count` confirmable PUTs from another endpoint, 32 at a time, each answered 2.04. */
async function traffic(count: number): Promise<void> {
  for (let done = 0; done < count; done += 32) {
    const batch = Array.from({ length: Math.min(32, count - done) }, (_, k) =>
      others.request({ method: 'PUT', path: '/t/dup-noise/reported', query: [`token=${noiseToken}`], payload: `{"n":${done + k}}` }, 10_000));
    for (const r of await Promise.all(batch)) expect(r.code).toBe('2.04');
  }
}

/** Sends a PUT with If-Match, then `between` other requests, then the same datagram again. */
async function retransmitAfter(between: number): Promise<{ first: ParsedPacket; again: ParsedPacket; applied: number }> {
  const v = await version('dup-1');
  const { packet, datagram } = buildRequest({ method: 'PUT', path: '/t/dup-1/reported', query: [`token=${token}`], ifMatch: uint(v), payload: `{"temp":${v}}` });
  device.sendRaw(datagram);
  const first = await device.next((p) => p.token.equals(packet.token!), 5000, 'first reply');
  await traffic(between);
  device.sendRaw(datagram);
  const again = await device.next((p) => p.token.equals(packet.token!), 5000, 'reply to the retransmission');
  return { first, again, applied: (await version('dup-1')) - v };
}

describe('CoAP duplicates after other traffic (RFC 7252 §4.5)', () => {
  it('answers a retransmission after 200 intervening requests from the exchange cache, applied once', async () => {
    const { first, again, applied } = await retransmitAfter(200);
    expect(first.code).toBe('2.04');
    expect(again.code).toBe('2.04');
    expect(again.messageId).toBe(first.messageId);
    expect(again.payload).toEqual(first.payload);
    expect(applied).toBe(1);
  });

  it('answers a retransmission after 2,000 requests from another endpoint with the same reply, applied once', async () => {
    const { first, again, applied } = await retransmitAfter(2000);
    expect(first.code).toBe('2.04');
    expect(again.code).toBe('2.04');
    expect(again.messageId).toBe(first.messageId);
    expect(again.payload).toEqual(first.payload);
    expect(applied).toBe(1);
  });

  it('handles a retransmission again once the same endpoint sent 300 newer requests (If-Match refuses it)', async () => {
    const v = await version('dup-1');
    const { packet, datagram } = buildRequest({ method: 'PUT', path: '/t/dup-1/reported', query: [`token=${token}`], ifMatch: uint(v), payload: `{"temp":${v}}` });
    device.sendRaw(datagram);
    const first = await device.next((p) => p.token.equals(packet.token!), 5000, 'first reply');
    for (let done = 0; done < 300; done += 30) {
      const batch = Array.from({ length: 30 }, (_, k) =>
        device.request({ method: 'PUT', path: '/t/dup-noise/reported', query: [`token=${noiseToken}`], payload: `{"m":${done + k}}` }, 10_000));
      for (const r of await Promise.all(batch)) expect(r.code).toBe('2.04');
    }
    device.sendRaw(datagram);
    const again = await device.next((p) => p.token.equals(packet.token!), 5000, 'reply to the retransmission');
    expect(first.code).toBe('2.04');
    expect(json(first)).toHaveProperty('version');
    expect(again.code).toBe('4.12');
    // If-Match kept the second application from changing anything.
    expect((await version('dup-1')) - v).toBe(1);
  });
});
