/**
 * Graceful shutdown under load: SIGTERM while HTTP, WebSocket and CoAP writers are busy and an app
 * and a device are watching. The process must exit 0; every write is either acknowledged (and
 * then durable), refused with `unavailable`, or unanswered because the connection closed: never
 * another error. The app's WebSocket is closed with 1001 and the device's observation ends with a
 * 5.03 notification carrying Max-Age, so both know to come back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { option, RawClient, readUint } from '../coap/helpers.ts';
import { ADMIN, startChildServer, tempDir } from '../support/server.ts';
import type { ChildServer } from '../support/server.ts';
import { newOutcomes, seedFleet, startMixedLoad, verifyDurability } from './mixed-load.ts';

describe('SIGTERM under mixed load', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildServer | null = null;

  beforeAll(async () => { dir = await tempDir('doppel-drain-'); });
  afterAll(async () => { await server?.kill('SIGKILL'); await dir.remove(); });

  it('finishes in-flight writes, refuses the rest with unavailable, closes watchers with proper codes, loses nothing', async () => {
    server = await startChildServer(dir.path);
    const fleet = await seedFleet(server.url, 16);

    // An app watching every twin, and a device observing its desired state.
    const app = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const appClosed = new Promise<number>((resolve) => app.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => { app.once('open', () => resolve()); app.once('error', reject); });
    app.send(JSON.stringify({ op: 'subscribe', ref: 'all', prefix: 'fault-' }));
    const device = await RawClient.open(server.coapPort);
    const watched = fleet.ids[0]!;
    const registration = await device.request({ path: `/t/${watched}/desired`, observe: 0, query: [`token=${fleet.tokens.get(watched)!}`] });
    expect(registration.code).toBe('2.05');

    const out = newOutcomes();
    const load = startMixedLoad({ url: server.url, coapPort: server.coapPort }, fleet, { http: 3, ws: 2, coap: 3 }, 'drain', out);
    await new Promise((r) => setTimeout(r, 400));
    expect(await server.kill('SIGTERM')).toBe(0);
    await load.stop();

    expect(await appClosed).toBe(1001);
    const ending = await device.next((p) => p.code === '5.03' && p.token.equals(registration.token), 5000, 'the 5.03 ending the observation');
    expect(ending.payload.toString('utf8')).toMatch(/^unavailable: /);
    expect(readUint(option(ending, 'Max-Age'))).toBeGreaterThan(0);
    await device.close();

    expect(out.unexpected).toEqual([]);
    expect(out.acks.length).toBeGreaterThan(0);
    server = await startChildServer(dir.path);
    expect(await verifyDurability(server.url, fleet, out.acks)).toEqual([]);
    expect(await server.kill('SIGTERM')).toBe(0);
    server = null;
  });
});
